"""What the channels share: calling a provider's JSON API through the webhooks' egress, the
access-token cache of WeCom and DingTalk, and the message's texts."""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.parse
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from duban.notifications import egress

# Errors meaning "this access token is no longer good" (WeCom and DingTalk use the same codes):
# 40014 invalid access_token, 42001 access_token expired.
TOKEN_EXPIRED = {40014, 42001}
# A token is taken for this much less than the time the provider gives it.
TOKEN_MARGIN_SECONDS = 300


class ProviderError(RuntimeError):
    """The provider refused or failed: the outbox tries again later."""


def call_json(method: str, url: str, *, payload: dict | None = None, idempotency_key: str = "",
              what: str) -> dict:
    """``method`` ``url`` (a JSON body for POST) through the egress rules; the answer's JSON.
    HTTP errors and answers that are not JSON raise :class:`ProviderError`."""
    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
    headers = {"Accept": "application/json", "User-Agent": "duban-notifications/1"}
    if body is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    try:
        status, raw = egress.request(method, url, body, headers, timeout=settings.DUBAN_WEBHOOK_TIMEOUT,
                                     extra_hosts=egress.provider_hosts())
    except egress.Refused:
        raise
    except (http.client.HTTPException, OSError) as exc:  # TimeoutError is an OSError
        raise ProviderError(f"{what}: {exc}") from None
    if status >= 400:
        raise ProviderError(f"{what}: HTTP {status}")
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise ProviderError(f"{what}: the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise ProviderError(f"{what}: the answer is not a JSON object")
    return answer


def api_url(base: str, path: str, **query: str) -> str:
    return f"{base.rstrip('/')}{path}?{urllib.parse.urlencode(query)}"


class TokenCache:
    """An application's access token, kept in Django's cache (Redis where ``DUBAN_CACHE_URL`` is
    set, shared by every worker) until shortly before it expires. The key names the county's
    schema, the provider, the application and a digest of its secret: a new secret, a new token."""

    def __init__(self, provider: str, app_id: str, secret: str):
        digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
        self.key = f"duban:{connection.schema_name}:token:{provider}:{app_id}:{digest}"

    def get(self, fetch: Callable[[], tuple[str, int]]) -> str:
        token = cache.get(self.key)
        if token:
            return token
        token, expires_in = fetch()
        cache.set(self.key, token, max(int(expires_in) - TOKEN_MARGIN_SECONDS, 60))
        return token

    def forget(self) -> None:
        cache.delete(self.key)


def cut(text: str, length: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"
