"""Single sign-on on the county's host (duban.identity): the login through the county's OpenID
Connect provider and its refusals, and the county admin's page that configures it, maps the
provider's groups to roles, ties accounts to their provider identity and gives a role to those
who signed in for the first time.

The flow's checks (state, nonce, PKCE, the ID token) are duban.identity.flow's and oidc's; the
account is found or opened by the action ``do_sso_login``. Every refusal is audited."""

from __future__ import annotations

from django.contrib.auth import login as auth_login
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from duban.accounts.actions import do_change_role
from duban.accounts.models import NO_ROLE, Role, User
from duban.core.errors import Invalid, NotFound
from duban.identity import flow
from duban.identity.access import active_provider, county_provider
from duban.identity.actions import (
    do_configure_sso,
    do_link_sso_subject,
    do_record_sso_refusal,
    do_remove_sso,
    do_remove_sso_mapping,
    do_set_sso_mapping,
    do_sso_login,
)
from duban.units.models import Unit
from duban.web.forms_sso import AssignForm, LinkForm, MappingForm, SsoSettingsForm
from duban.web.middleware import OTP_REQUIRED_KEY, needs_otp
from duban.web.shortcuts import act_on_form, page, require_role
from duban.web.views_auth import safe_next

CALLBACK_PATH = "/login/sso/callback/"
BACKEND = "django.contrib.auth.backends.ModelBackend"
SETTINGS_PATH = "/settings/sso/"


def callback_uri(request) -> str:
    """Our redirect URI on this county's host (what the county registers at the provider)."""
    return request.build_absolute_uri(CALLBACK_PATH)


def post_logout_uri(request) -> str:
    return request.build_absolute_uri("/login/")


def _refused(request, exc: flow.SsoRefused):
    if exc.reason != "not_configured":
        do_record_sso_refusal(reason=exc.reason, detail=exc.detail, subject=exc.subject)
    return render(request, "web/sso_refused.html", {"reason": str(exc)}, status=403)


@never_cache
@require_safe
def sso_start(request):
    """``/login/sso/``: off to the county's provider, a new state, nonce and PKCE verifier kept in
    this session."""
    try:
        url = flow.start(request.session, active_provider(), redirect_uri=callback_uri(request),
                         next_url=safe_next(request))
    except flow.SsoRefused as exc:
        return _refused(request, exc)
    return HttpResponseRedirect(url)


@never_cache
@require_safe
def sso_callback(request):
    """``/login/sso/callback/``: the provider's answer, checked; the account signed in."""
    provider = active_provider()
    try:
        outcome = flow.finish(request.session, provider, request.GET, redirect_uri=callback_uri(request))
        user, _opened = do_sso_login(provider, outcome.claims, mfa=outcome.mfa)
    except flow.SsoRefused as exc:
        return _refused(request, exc)
    auth_login(request, user, backend=BACKEND)  # the user_logged_in signal notes whether a code is owed
    request.session[flow.ID_TOKEN_KEY] = outcome.id_token
    if outcome.mfa:  # the provider checked a second factor: ours is not asked again
        request.session.pop(OTP_REQUIRED_KEY, None)
        request.session[flow.MFA_KEY] = True
    elif needs_otp(user):
        return HttpResponseRedirect("/login/otp/?" + urlencode({"next": outcome.next_url}))
    return HttpResponseRedirect(outcome.next_url)


# --- the county admin's page ----------------------------------------------------------------------
def _settings_initial(provider) -> dict:
    if provider is None:
        return {}
    return {field: getattr(provider, field) for field in (
        "issuer", "client_id", "scopes", "username_claim", "role_claim", "create_unknown_users", "password_login",
        "trust_provider_mfa", "enabled")}


def _unit(code: str):
    if not code:
        return None
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        raise Invalid(_("没有编码为“%(code)s”的单位。") % {"code": code}, field="unit")
    return unit


@page
@require_http_methods(["GET", "POST"])
def sso_settings(request):
    """``/settings/sso/`` (county admin): the provider, the role mapping, linked and waiting accounts."""
    require_role(request.user, Role.COUNTY_ADMIN, what=_("只有县管理员可以设置统一身份认证。"))
    provider = county_provider()
    units = list(Unit.objects.filter(is_active=True))
    posted = request.POST if request.method == "POST" else None
    kind = request.POST.get("form") if posted is not None else None
    settings_form = SsoSettingsForm(posted if kind == "settings" else None, initial=_settings_initial(provider),
                                    secret_is_set=bool(provider and provider.secret_is_set))
    mapping_form = MappingForm(posted if kind == "mapping" else None, units=units, auto_id="id_map_%s")
    link_form = LinkForm(posted if kind == "link" else None, auto_id="id_link_%s")

    def back(_result):
        return redirect(SETTINGS_PATH)

    def again(_form):
        return _render(request, provider, units, settings_form, mapping_form, link_form, status=400)

    if kind == "settings":
        return act_on_form(request, settings_form, lambda d: do_configure_sso(actor=request.user, **d),
                           success=back, again=again, done=_("统一身份认证设置已保存。"))
    if kind == "mapping":
        return act_on_form(request, mapping_form,
                           lambda d: do_set_sso_mapping(actor=request.user, claim_value=d["claim_value"], role=d["role"],
                                                        unit_code=d["unit"]),
                           success=back, again=again, done=_("角色映射已保存。"),
                           field_for=lambda name: {"claim_value": "claim_value", "role": "role"}.get(name, "unit"))
    if kind == "link":
        def link(data):
            user = User.objects.filter(username=data["username"].strip()).first()
            if user is None:
                raise Invalid(_("本县没有用户名为“%(username)s”的用户。") % {"username": data["username"]},
                              field="username")
            return do_link_sso_subject(user, actor=request.user, subject=data["subject"])

        return act_on_form(request, link_form, link, success=back, again=again, done=_("账号关联已保存。"))
    if kind == "unmap":
        do_remove_sso_mapping(actor=request.user, claim_value=request.POST.get("claim_value", ""))
        return redirect(SETTINGS_PATH)
    if kind == "remove":
        do_remove_sso(actor=request.user)
        return redirect(SETTINGS_PATH)
    if kind == "assign":
        form = AssignForm(posted, units=units)
        if form.is_valid():
            user = User.objects.filter(pk=form.cleaned_data["user"], role=NO_ROLE).first()
            if user is None:
                raise NotFound(_("没有这位等待分配角色的用户。"))
            try:
                do_change_role(user, actor=request.user, role=form.cleaned_data["role"],
                               unit=_unit(form.cleaned_data["unit"]))
            except Invalid as exc:
                return _render(request, provider, units, settings_form, mapping_form, link_form, status=400,
                               assign_error=(user.pk, str(exc)))
            return redirect(SETTINGS_PATH)
        return _render(request, provider, units, settings_form, mapping_form, link_form, status=400,
                       assign_error=(form.data.get("user"), _("请选择角色。")))
    return _render(request, provider, units, settings_form, mapping_form, link_form)


def _render(request, provider, units, settings_form, mapping_form, link_form, *, status=200, assign_error=None):
    waiting = list(User.objects.filter(role=NO_ROLE).order_by("date_joined", "id"))
    rows = [{"user": user, "form": AssignForm(initial={"user": user.pk}, units=units, auto_id=f"id_u{user.pk}_%s"),
             "error": assign_error[1] if assign_error and str(assign_error[0]) == str(user.pk) else ""}
            for user in waiting]
    linked = User.objects.exclude(sso_subject__isnull=True).order_by("username")
    return render(request, "web/sso_settings.html", {
        "provider": provider, "settings_form": settings_form, "mapping_form": mapping_form, "link_form": link_form,
        "mappings": list(provider.mappings.all()) if provider else [], "waiting": rows, "linked": linked,
        "callback_uri": callback_uri(request), "post_logout_uri": post_logout_uri(request),
    }, status=status)
