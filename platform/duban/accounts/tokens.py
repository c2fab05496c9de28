"""API token keys: made, hashed and checked here, stored nowhere in the clear.

A key is 40 hexadecimal characters (the format DRF's authtoken used, so keys issued before
hashing keep working once migrated). The table keeps the key's first eight characters (to tell
keys apart in the admin site and logs) and the SHA-256 of the whole key; a presented key is
looked up by its prefix and compared by digest in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from duban.accounts.models import ApiToken, User

PREFIX_LENGTH = ApiToken.PREFIX_LENGTH
# "Last used" is written at most this often per token, so a busy client does not write on every request.
LAST_USED_EVERY = timedelta(minutes=5)


def new_key() -> str:
    return secrets.token_hex(20)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def user_for_key(key: str) -> User | None:
    """The active user whose token is ``key``, or None. Tokens live in the current schema only,
    so a key of another county is unknown here."""
    if not isinstance(key, str) or len(key) <= PREFIX_LENGTH:
        return None
    digest = key_digest(key)
    match = None
    for token in ApiToken.objects.filter(prefix=key[:PREFIX_LENGTH]).select_related("user"):
        if hmac.compare_digest(token.digest, digest):
            match = token
    if match is None or not match.user.is_active:
        return None
    now = timezone.now()  # a technical time stamp, not a business date
    if match.last_used is None or now - match.last_used > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=match.pk).update(last_used=now)
    return match.user
