"""``Idempotency-Key`` on the API's creating POSTs: a retried request returns the first answer.

A county office's network drops the answer to a POST; the client (a browser script, an
integration) sends it again. Without a key that proposes the matter, records the step, twice.
With the same ``Idempotency-Key`` header the retry gets the first answer — same status, same
body, and ``Idempotent-Replayed: true`` — and nothing is done again.

- Keys are per user (two users' equal keys never meet) and kept in the county's schema
  (``duban.ops.models.IdempotencyKey``) for ``DUBAN_IDEMPOTENCY_KEY_HOURS``; an expired key
  acts anew, and the county's heartbeat task deletes expired keys.
- A key is 1–255 visible ASCII characters (a UUID is the usual choice); anything else is a 400
  naming the header.
- The same key sent with another body, or to another endpoint, is a 422 naming the header.
- Only a successful answer (2xx) is remembered: a refused request did nothing, and its retry is
  checked afresh.
- Concurrent duplicates: the key's row is inserted first, in the transaction that does the
  action, under a unique (user, key) constraint; the second request's insert waits for the
  first to commit, then finds the row and replays its answer (or acts, if the first failed and
  was rolled back).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from api.errors import body
from duban.core.actions import action_scope
from duban.ops.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")

PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False,
    description=("Optional. 1–255 visible ASCII characters, e.g. a UUID. A retry of this POST with the same key and "
                 "the same body returns the first answer (same status and body, header `Idempotent-Replayed: true`) "
                 "without acting again; the same key with another body is a 422. Keys are per user and "
                 "remembered for `DUBAN_IDEMPOTENCY_KEY_HOURS` (24 h by default)."))


class KeyReused(Exception):
    """The key was first used for another request (another body or endpoint)."""


def once(user, key: str, request: str, fingerprint: str,
         act: Callable[[], tuple[int, object] | None]) -> tuple[int, object, bool] | None:
    """Run ``act`` once for (user, key): ``(status, data, replayed)``.

    ``act`` returns ``(status, json-ready data)`` to remember, or None for an answer not to
    remember (then None is returned). Raises :class:`KeyReused` if the key was first used for
    another request."""
    expired_before = timezone.now() - timedelta(hours=settings.DUBAN_IDEMPOTENCY_KEY_HOURS)
    # The actions the request calls join this transaction: the remembered answer commits with them.
    with action_scope():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=user, key=key, request=request, body_hash=fingerprint)
        except IntegrityError:
            # The first request with this key has committed (a concurrent one was waited for).
            record = IdempotencyKey.objects.select_for_update().get(user=user, key=key)
            if record.created >= expired_before:
                if record.request != request or record.body_hash != fingerprint:
                    raise KeyReused() from None
                return record.status, record.response, True
            record.request, record.body_hash, record.created = request, fingerprint, timezone.now()
            record.status = record.response = None
            record.save()
        answer = act()
        if answer is None:
            record.delete()
            return None
        record.status, record.response = answer
        record.save(update_fields=["status", "response"])
        return answer[0], answer[1], False


def fingerprint(request) -> str:
    """A digest of what the request asks: its parsed body (files by content)."""
    digest = hashlib.sha256()
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict: form fields and files
        items = []
        for name, values in sorted(data.lists()):
            for value in values:
                if hasattr(value, "chunks"):
                    file_digest = hashlib.sha256()
                    for chunk in value.chunks():
                        file_digest.update(chunk)
                    value.seek(0)
                    value = f"file:{value.name}:{file_digest.hexdigest()}"
                items.append([name, str(value)])
        canonical = json.dumps(items, ensure_ascii=False)
    else:
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    digest.update(canonical.encode())
    return digest.hexdigest()


def idempotent(view_method: Callable) -> Callable:
    """Wrap a creating POST handler of a viewset: honour ``Idempotency-Key`` if sent."""

    @functools.wraps(view_method)
    def handler(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST":
            return view_method(self, request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            raise exceptions.ValidationError({HEADER: [_("Idempotency-Key须为1至255个可见的ASCII字符，建议使用UUID。")]})
        answered: list = []

        def act():
            response = view_method(self, request, *args, **kwargs)
            answered.append(response)
            if not isinstance(response, Response) or not 200 <= response.status_code < 300:
                return None
            return response.status_code, json.loads(JSONRenderer().render(response.data) or b"null")

        try:
            result = once(request.user, key, f"{request.method} {request.path}"[:300], fingerprint(request), act)
        except KeyReused:
            message = _("此Idempotency-Key已用于另一个请求（请求内容或地址不同），新的请求请换用新的键。")
            return Response(body(422, message, {HEADER: [message]}, code="idempotency_key_reused"), status=422)
        if result is None or not result[2]:
            return answered[0]
        status_code, data, _replayed = result
        return Response(data, status=status_code, headers={REPLAYED: "true"})

    return handler
