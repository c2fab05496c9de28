"""Pagination, ordering and throttling for the API: one behaviour for every list.

- ``Pages`` (most lists): ``?page=2&page_size=100``, 50 rows by default, 1 to 200. A
  ``page_size`` outside that range, or a ``page`` that is not a page of the list, is a 400
  naming the parameter (it used to be replaced silently, or DRF's 404).
- ``Cursor`` (the long lists: a matter's timeline, the ledger, a person's notifications):
  ``?cursor=`` from the ``next`` link, so that a client following a list while rows are added
  sees each row once; ``page_size`` as above. A page number there is a 400 that says to follow
  ``next``; a cursor that is not one of ours is a 400 naming ``cursor``.
- ``Ordering``: ``?ordering=deadline,-id`` (or ``ordering=deadline&ordering=-id``) over the
  fields a view lists in ``ordering_fields`` — documented in the schema as an enum — and by
  default the view's ``ordering``; an unknown field is a 400 naming ``ordering``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import InvalidPage
from django.db import connection
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.throttling import SimpleRateThrottle

from duban.core.clientip import client_ip

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def page_size_of(request) -> int:
    """``?page_size=`` checked: 1 to MAX_PAGE_SIZE, the default when absent or empty."""
    raw = request.query_params.get("page_size", "").strip()
    if not raw:
        return PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationError({"page_size": [_("每页条数应为1至%(max)d之间的整数，收到的是“%(value)s”。")
                                             % {"max": MAX_PAGE_SIZE, "value": raw[:20]}]})
    return int(raw)


def _page_size_parameter() -> dict:
    return {"name": "page_size", "required": False, "in": "query",
            "description": f"Rows per page: 1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE}); out of range is a 400.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": PAGE_SIZE}}


class Pages(PageNumberPagination):
    """``?page=2&page_size=100``: 50 rows by default, 1 to 200; out of range is a 400."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return page_size_of(request)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        number = request.query_params.get(self.page_query_param, "").strip() or 1
        if number in self.last_page_strings:
            number = paginator.num_pages
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise ValidationError({"page": [_("没有第“%(page)s”页：页码应为1至%(last)d之间的整数。")
                                            % {"page": str(number)[:20], "last": paginator.num_pages}]}) from None
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

    def get_schema_operation_parameters(self, view):
        return [{"name": "page", "required": False, "in": "query",
                 "description": "Page number, from 1; a page past the last is a 400.",
                 "schema": {"type": "integer", "minimum": 1}}, _page_size_parameter()]


class Cursor(CursorPagination):
    """The long lists, followed by their ``next`` link: rows added meanwhile neither repeat nor
    push others off a page. Ordered by the view's ``ordering`` (``?ordering=`` may change it)."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"

    def get_page_size(self, request):
        return page_size_of(request)

    def paginate_queryset(self, queryset, request, view=None):
        if "page" in request.query_params:
            raise ValidationError({"page": [_("此列表按游标分页，没有页码：请沿上一页答复中的next链接翻页。")]})
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [_("cursor参数无效：请使用列表答复中next或previous链接里的值。")]}) from None

    def get_schema_operation_parameters(self, view):
        return [{"name": self.cursor_query_param, "required": False, "in": "query",
                 "description": "Where to continue: the value in the `next` (or `previous`) link of the answer before. "
                                "Rows added meanwhile neither repeat nor push others off a page.",
                 "schema": {"type": "string"}}, _page_size_parameter()]


class Ordering(OrderingFilter):
    """``?ordering=`` over a view's ``ordering_fields``: names as the answer shows them, or a
    mapping {name: model field path}; ``-`` before a name orders descending. Each ordering ends
    with the view's default ordering, so that equal values keep a stable order."""

    def fields(self, view) -> dict[str, str]:
        fields = getattr(view, "ordering_fields", None) or ()
        return dict(fields) if isinstance(fields, dict) else {name: name for name in fields}

    def get_ordering(self, request, queryset, view):
        default = list(self.get_default_ordering(view) or ())
        wanted = [term.strip() for value in request.query_params.getlist(self.ordering_param)
                  for term in value.split(",") if term.strip()]
        if not wanted:
            return default or None
        fields = self.fields(view)
        unknown = [term for term in wanted if term.lstrip("-") not in fields or term.startswith("--")]
        if unknown:
            choices = "、".join(fields) if fields else _("（此列表不能排序）")
            raise ValidationError({self.ordering_param: [_("不能按“%(value)s”排序，可用的字段：%(choices)s。")
                                                         % {"value": unknown[0][:50], "choices": choices}]})
        ordering = [("-" if term.startswith("-") else "") + fields[term.lstrip("-")] for term in wanted]
        named = {term.lstrip("-") for term in ordering}
        return ordering + [term for term in default if term.lstrip("-") not in named]

    def get_schema_operation_parameters(self, view):
        fields = self.fields(view)
        if not fields:
            return []
        default = ",".join(self.get_default_ordering(view) or ())
        return [{
            "name": self.ordering_param, "required": False, "in": "query", "style": "form", "explode": False,
            "description": (f"Order by these fields, `-` before a field for descending; several, comma-separated. "
                            f"Default: `{default}`. Another field is a 400."),
            "schema": {"type": "array", "items": {"type": "string", "enum": [
                value for name in fields for value in (name, f"-{name}")]}},
        }]


class _Throttle(SimpleRateThrottle):
    """Rates come from ``settings.DUBAN_API_THROTTLE`` when the request arrives (so tests and
    operators can change them), and keys carry the county's schema: user ids repeat from one
    county to the next, and one county's busy integration must not throttle another's."""

    def get_rate(self):
        rate = settings.DUBAN_API_THROTTLE.get(self.scope)
        return None if rate in (None, "", "none", "None", "off") else rate

    def get_ident(self, request):
        """The real client (``DUBAN_TRUSTED_PROXIES``), not DRF's default, which believes
        whatever ``X-Forwarded-For`` a client sends and so lets it rotate past the limit."""
        return client_ip(request)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class UserThrottle(_Throttle):
    scope = "user"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return f"throttle:{connection.schema_name}:user:{request.user.pk}"


class AnonThrottle(_Throttle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return f"throttle:{connection.schema_name}:anon:{self.get_ident(request)}"
