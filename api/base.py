"""The base of every county endpoint: scoping and permissions that a subclass cannot forget.

House style (PostHog ``posthog/api/routing.py``):

- A county viewset never writes ``get_queryset``/``get_object``. It writes
  ``safely_get_queryset(user)``, which must start from an access helper (``visible_matters`` and
  friends), and the base does the rest: the county is the host's (``request.tenant``), the user is
  the authenticated one, and an object outside the user's scope is 404 — the same answer as a
  missing one, so nothing leaks its existence.
- Overriding ``get_queryset``/``get_object``/``initial`` in a subclass is refused when the class
  is defined (``TypeError``). The only way around the scoping is a method whose name says what it
  is: ``dangerously_get_queryset`` — grep for ``dangerously_`` to audit them all.
- Writes are POSTs to action endpoints (``@county_action``) that parse the body with an input
  serializer and call one ``do_*`` action function; no business logic lives here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from api import idempotency
from duban.accounts.models import COUNTY_ROLES

ASCII_ID = re.compile(r"[0-9]{1,18}")
FINAL_METHODS = ("get_queryset", "get_object", "initial", "check_permissions", "check_object_permissions")


class OnCountyHost(permissions.BasePermission):
    """The request is on a county's host and the user is one of that county's active staff.

    Tokens and sessions live in the county's own schema, so a token of another county is simply
    unknown here (401); this guard is the second line (a public-schema user can never be
    authenticated on a county host, but if someone wires it wrong, they still get 404)."""

    def has_permission(self, request, view) -> bool:
        tenant = getattr(request, "tenant", None)
        if getattr(tenant, "pk", None) is None:
            raise NotFound()
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not user.is_active or user.role not in COUNTY_ROLES:
            raise NotFound()
        return True


class RolePermission(permissions.BasePermission):
    """``view.roles[action]`` lists who may call an action at all (403 otherwise).

    On a detail route the role is checked only once the object is found in the user's scope, so
    somebody else's object is 404 whatever one's role — a 403 would tell that it exists.
    Finer rules (whose matter, which state) stay in the action functions and access helpers."""

    message = gettext_lazy("您的角色不能办理这项操作。")

    @staticmethod
    def _allowed(request, view) -> bool:
        roles = getattr(view, "roles", {}).get(getattr(view, "action", None))
        return roles is None or request.user.role in roles

    def has_permission(self, request, view) -> bool:
        if getattr(view, "detail", False):
            return True
        return self._allowed(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        return self._allowed(request, view)


class SingleObjectSchema(AutoSchema):
    """For viewsets whose ``list`` answers one object (``/me/``, ``/rulepack/``)."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class CountyViewSet(viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, OnCountyHost, RolePermission]
    #: action name -> tuple of roles allowed to call it (missing: every county user)
    roles: dict[str, tuple] = {}
    lookup_value_regex = r"[^/]+"
    #: what ``?ordering=`` may name (api.paging.Ordering: names, or {name: model field}) and the default
    ordering_fields: tuple | dict = ()
    ordering: tuple | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in FINAL_METHODS:
            if name in cls.__dict__:
                raise TypeError(f"{cls.__name__} overrides {name}(); implement safely_get_queryset(user) "
                                f"(or, knowingly, dangerously_get_queryset) instead")

    # --- scoping -------------------------------------------------------------------------------
    def safely_get_queryset(self, user):
        raise NotImplementedError(f"{type(self).__name__} must implement safely_get_queryset(user)")

    def get_queryset(self):
        dangerous = getattr(self, "dangerously_get_queryset", None)
        if dangerous is not None:
            return dangerous()
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular introspection
            return self.queryset.none() if self.queryset is not None else None
        return self.safely_get_queryset(self.request.user)

    def get_object(self):
        # The filters narrow the lookup as DRF's do; ?ordering= is for lists (a list action's
        # ordering fields, a timeline's say, are not the object's).
        queryset = self.get_queryset()
        for backend in self.filter_backends:
            if not issubclass(backend, OrderingFilter):
                queryset = backend().filter_queryset(self.request, queryset, self)
        lookup = self.lookup_url_kwarg or self.lookup_field
        value = str(self.kwargs[lookup])
        # ASCII digits only: str.isdigit() and int() accept "³" and "٣"; and no NUL, which
        # PostgreSQL text refuses.
        if (self.lookup_field == "pk" and not ASCII_ID.fullmatch(value)) or "\x00" in value or len(value) > 100:
            raise Http404
        obj = queryset.filter(**{self.lookup_field: value}).first()
        if obj is None:
            raise Http404
        self.check_object_permissions(self.request, obj)
        return obj

    def respond(self, serializer_class, instance, *, status_code=status.HTTP_200_OK, many=False) -> Response:
        data = serializer_class(instance, many=many, context=self.get_serializer_context()).data
        return Response(data, status=status_code)


def county_action(*, input: type | None = None, output: type, summary: str, description: str = "",
                  methods=("post",), detail: bool = True, url_path: str | None = None, status_code: int = 200,
                  many: bool = False, examples: list[OpenApiExample] | None = None, **action_kwargs) -> Callable:
    """Declare an action endpoint: documents it and wires its input serializer.

    The decorated method receives ``(self, request, data, pk=None)`` where ``data`` is the
    validated input (a dict) and returns the object(s) to render with ``output``.

    An action that creates (``status_code=201``) honours the ``Idempotency-Key`` header
    (api.idempotency): a retry with the same key returns the first answer."""

    def decorate(func: Callable) -> Callable:
        def endpoint(self, request, *args, **kwargs):
            if detail:
                self.get_object()  # in scope (else 404), then the role (else 403), then the input
            data: dict[str, Any] = {}
            if input is not None:
                source = request.data if request.method not in ("GET", "HEAD") else request.query_params
                serializer = input(data=source, context=self.get_serializer_context())
                serializer.is_valid(raise_exception=True)
                data = serializer.validated_data
            result = func(self, request, data, *args, **kwargs)
            if isinstance(result, HttpResponseBase):  # a file, or a Response built by the action
                return result
            if many and isinstance(result, QuerySet):  # GET lists filter, order and page like every list
                result = self.filter_queryset(result)
            if many and self.paginator is not None:
                page = self.paginate_queryset(result)
                return self.get_paginated_response(
                    output(page, many=True, context=self.get_serializer_context()).data)
            return self.respond(output, result, status_code=status_code, many=many)

        endpoint.__name__ = func.__name__
        endpoint.__doc__ = func.__doc__
        creates = status_code == 201 and "post" in methods
        if creates:
            endpoint = idempotency.idempotent(endpoint)
        # action() first: it replaces the function's ``kwargs``, where extend_schema keeps its notes.
        endpoint = action(detail=detail, methods=list(methods), url_path=url_path, serializer_class=output,
                          **action_kwargs)(endpoint)
        return extend_schema(summary=summary, description=description or (func.__doc__ or "").strip(),
                             request=input if "post" in methods else None,
                             responses={status_code: output(many=True) if many else output},
                             parameters=[idempotency.PARAMETER] if creates else None,
                             examples=examples or [])(endpoint)

    return decorate
