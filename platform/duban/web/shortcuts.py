"""What the pages of every area share: the ``page`` decorator that turns the actions' errors
(``duban.core.errors``) into the house's answers, the one refusal page, the form-error helper,
htmx answers, paging, file downloads and the rule pack's labels; and the house's error pages
(404, 403, 500, CSRF failure: ``handler*`` of both URL configurations, ``CSRF_FAILURE_VIEW``).

House style of a page (GET shows, POST validates and calls one action):

* ``@page`` — login required; ``NotFound`` (or ``Http404``) → the house's 404 page, rendered here
  so that DEBUG (``make demo``) never shows a clerk Django's technical 404 (missing and not yours
  are the same answer),
  ``NotAllowed`` → the refusal page (403), ``Conflict`` → the same page saying the content changed
  meanwhile (409). A view that wants to answer an error itself catches it first.
* an action's ``Invalid`` goes under the form field it names (:func:`add_error`) and the form is
  shown again with status 400 — :func:`act_on_form` is that whole POST body (parse, call the
  action, message and redirect, or the form again);
* a record's document (a circular, a step's notice) is opened through :func:`document_file`.
* htmx requests (``request.htmx``, django-htmx's middleware) get the fragment they swap in place,
  or :func:`redirect_to` a client-side redirect.
"""

from __future__ import annotations

import io
import re
from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django_htmx.http import HttpResponseClientRedirect

from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound

REFUSED = "web/refused.html"
NOT_FOUND = "web/not_found.html"
SERVER_ERROR = "web/server_error.html"
CSRF_FAILURE = "web/csrf_failure.html"
PAGE_SIZE = 50
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# --- the errors family → answers ------------------------------------------------------------------
def page(view):
    """Login required; the areas' refusals become pages: not found → 404, not allowed → 403,
    changed meanwhile → 409."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, Http404):
            return not_found(request)
        except NotAllowed as exc:
            return refused(request, str(exc))
        except Conflict as exc:
            return refused(request, str(exc), conflict=True)

    return login_required(wrapper)


def refused(request, reason: str = "", *, conflict: bool = False):
    """The house's refusal page: the role may not do this (403), or with ``conflict`` someone
    changed the content meanwhile (409); ``reason`` says what exactly."""
    return render(request, REFUSED, {"reason": reason, "conflict": conflict}, status=409 if conflict else 403)


# --- the house's error pages ------------------------------------------------------------------------
def not_found(request, exception=None):
    """404 (``handler404``, and ``@page`` itself): the page is not there, or not the user's."""
    return render(request, NOT_FOUND, status=404)


def forbidden(request, exception=None):
    """403 (``handler403``): Django's ``PermissionDenied``, on the house's refusal page."""
    return refused(request)


def csrf_failure(request, reason=""):
    """403 (``CSRF_FAILURE_VIEW``): the form's token is missing or stale; Django's ``reason`` is
    for developers and stays out of the page."""
    return render(request, CSRF_FAILURE, status=403)


def server_error(request):
    """500 (``handler500``): a page of its own that touches no database (no user, no county, no
    navigation); if even that fails, plain Chinese text."""
    try:
        return HttpResponseServerError(render_to_string(SERVER_ERROR, {"language": language()}))
    except Exception:  # the template itself broken: still an answer in the user's language
        return HttpResponseServerError(gettext("系统出错了，请稍后重试。"), content_type="text/plain; charset=utf-8")


def require_role(user, *roles, what: str):
    """``NotAllowed(what)`` unless the user has one of ``roles``."""
    if getattr(user, "role", None) not in roles:
        raise NotAllowed(what)


# --- forms ---------------------------------------------------------------------------------------
def add_error(form, exc: Invalid, field: str | None = None, *, message: str | None = None) -> None:
    """Put an action's ``Invalid`` under the form field it names (``field`` when the form calls it
    otherwise), or above the form when no visible field has that name; ``message`` replaces the
    action's text (a translation of it)."""
    name = field if field is not None else getattr(exc, "field", None)
    visible = name in form.fields and not form.fields[name].widget.is_hidden
    form.add_error(name if visible else None, str(exc) if message is None else message)


def act_on_form(request, form, call, *, success, again, done=None, field_for=None):
    """The body of a form's POST: a valid ``form`` → ``call(form.cleaned_data)`` (one action);
    then the message ``done`` (a text, or a function of the action's result) and ``success(result)``,
    the answer (a redirect). An action's ``Invalid`` goes under the field it names (``field_for``
    maps the action's field to the form's) and ``again(form)`` renders the form again with 400, as
    it does for a form that does not validate. Other errors pass (``Conflict`` to the caller or
    ``@page``). The ``Invalid`` is kept as ``form.invalid`` for a page that shows it elsewhere."""
    form.invalid = None
    if form.is_valid():
        try:
            result = call(form.cleaned_data)
        except Invalid as exc:
            form.invalid = exc
            add_error(form, exc, field_for(exc.field) if field_for else None)
        else:
            if done is not None:
                messages.success(request, done(result) if callable(done) else done)
            return success(result)
    return again(form)


# --- htmx ----------------------------------------------------------------------------------------
def redirect_to(request, url: str):
    """Go to ``url``: htmx follows ``HX-Redirect`` (a swap would put the whole page in a box)."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- lists ---------------------------------------------------------------------------------------
def language() -> str:
    return translation.get_language() or "zh-hans"


def paginate(request, qs, size=PAGE_SIZE):
    return Paginator(qs, size).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def safe_back(request, url: str) -> str:
    """``url`` when it is a path on this host (never another site), else ""."""
    if url.startswith("/") and not url.startswith("//") and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return ""


# --- the county's rule pack, in words ---------------------------------------------------------------
def category_labels(pack) -> dict[str, str]:
    return {category.code: category.label.get(language()) for category in pack.scope}


def tier_labels(pack) -> dict[str, str]:
    return {tier.code: tier.label.get(language()) for tier in pack.tiers}


def event_labels(pack) -> dict[str, str]:
    return {rule.code: rule.label.get(language()) for rule in pack.schedule.events}


# --- documents ---------------------------------------------------------------------------------
def document_file(request, make, *, missing: str):
    """Go to the file of a record's document: ``make()`` issues it the first time (then the same
    document); an ``Invalid`` from it (nothing to print yet) is the 404 ``missing`` (for the log).
    ``?format=`` (pdf by default) is passed on to the download, which checks it."""
    try:
        document = make()
    except Invalid:
        raise Http404(missing) from None
    return redirect(f"/documents/{document.pk}/download/?format={quote(request.GET.get('format', 'pdf'), safe='')}")


# --- downloads -----------------------------------------------------------------------------------
SAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def download(data: bytes, filename: str, fmt: str, *, fallback: str, inline: bool = False) -> FileResponse:
    """A generated file (PDF, Word, Excel) with its content type and a Chinese file name.

    ``fallback`` is an ASCII name for old clients: Django's ``FileResponse(filename=…)`` writes
    only ``filename*=utf-8''…`` for a name that is not ASCII, so this one header is written here
    (RFC 6266: ``filename="…"`` first, then ``filename*=UTF-8''…``)."""
    filename = SAFE_NAME.sub("_", filename).strip() or fallback
    response = FileResponse(io.BytesIO(data), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = (f'{"inline" if inline else "attachment"}; filename="{fallback}"; '
                                       f"filename*=UTF-8''{quote(filename, safe='')}")
    response["Content-Length"] = str(len(data))
    response["Cache-Control"] = "private, no-store"
    if inline:  # the document page previews it in a frame of its own origin
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response
