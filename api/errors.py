"""One error body for every failure, naming the fields at fault.

::

    {"error": {"code": "invalid", "message": "…", "fields": {"deadline": ["…"]}}}

Domain exceptions map to HTTP statuses here, so action functions stay free of HTTP:
the one family of ``duban.core.errors``: bad input (``Invalid``) → 400 naming the field;
``NotAllowed`` → 403; not found / not yours (``NotFound``) → 404 (the same answer); a stale
version or a workflow step that does not apply in the object's state (``Conflict``, its ``code``
saying which) → 409. A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` → 413 (Django itself would answer an HTML
page); malformed or too deeply nested JSON → 400 (``api.parsers``); a body of another media type than
the route takes (JSON; multipart where a file is uploaded) → 415 saying which it takes. A lost database connection
(``duban.core.dbdown.is_connection_failure``) → 503 with
``Retry-After``; nothing of the request was saved.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from duban.core import dbdown
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound

CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    503: "unavailable",
}


def body(status_code: int, message: str, fields: dict | None = None, code: str | None = None) -> dict:
    error = {"code": code or CODES.get(status_code, "error"), "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten(detail) -> dict[str, list[str]]:
    """DRF's nested ValidationError detail → {"field": ["msg", …]} (dotted paths for nesting)."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and not all(isinstance(v, (str, exceptions.ErrorDetail)) for v in value):
            for index, inner in enumerate(value):
                if inner:
                    walk(f"{prefix}[{index}]", inner)
        else:
            items = value if isinstance(value, list) else [value]
            out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in items)

    walk("", detail)
    return out


def unsupported_media_type(context) -> str:
    """What the body was sent as, and what this route takes (JSON; multipart where a file is uploaded)."""
    view, request = context.get("view"), context.get("request")
    accepted = "、".join(sorted({parser.media_type for parser in view.get_parsers()})) if view else "application/json"
    sent = (getattr(request, "content_type", "") or "").split(";")[0].strip()[:100] or _("（未注明）")
    return _("不支持的请求正文类型“%(type)s”：此接口只接受%(accepted)s。") % {"type": sent, "accepted": accepted}


def exception_handler(exc, context):
    if dbdown.is_connection_failure(exc):
        dbdown.lost_connection(context.get("request"), exc)
        return Response(body(503, dbdown.MESSAGE), status=503, headers={"Retry-After": str(dbdown.RETRY_AFTER_SECONDS)})
    if isinstance(exc, RequestDataTooBig):  # Django's own answer would be an HTML 400 page
        return Response(body(413, _("请求内容过大，不能超过%(limit)s字节。") % {
            "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}), status=413)
    if isinstance(exc, TooManyFieldsSent):
        return Response(body(400, _("请求中的字段过多。")), status=400)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return Response(body(415, unsupported_media_type(context)), status=415)
    if isinstance(exc, Invalid):
        field = getattr(exc, "field", None) or "non_field_errors"
        return Response(body(400, str(exc), {field: [str(exc)]}), status=400)
    if isinstance(exc, NotAllowed):
        return Response(body(403, str(exc)), status=403)
    if isinstance(exc, Conflict):
        return Response(body(409, str(exc), code=exc.code), status=409)
    if isinstance(exc, (Http404, NotFound)):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items())
        response.data = body(status.HTTP_400_BAD_REQUEST, message, fields)
    else:
        detail = getattr(exc, "detail", "")
        code = getattr(detail, "code", None) if not isinstance(detail, (dict, list)) else None
        response.data = body(response.status_code, str(detail), code=CODES.get(response.status_code) or code)
    return response
