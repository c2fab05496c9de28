"""The county's client secret at rest: a Fernet token (AES-128-CBC + HMAC-SHA256, from
``cryptography``), never the secret itself.

The key is derived with HKDF-SHA256 from ``DUBAN_SSO_KEY`` when the operator sets one, else from
``SECRET_KEY``. Reading tries, in turn, ``DUBAN_SSO_KEY``, ``SECRET_KEY`` and every
``SECRET_KEY_FALLBACKS`` key, so rotating ``SECRET_KEY`` (the old one kept as a fallback) or
introducing ``DUBAN_SSO_KEY`` later loses no county's secret; saving a secret again seals it
under the current key. A database dump alone therefore never discloses a county's secret.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_SALT = b"duban.identity.sealing"
_INFO = b"oidc client secret"


class SecretUnreadable(RuntimeError):
    """The stored secret was sealed under a key that is no longer configured."""


def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _materials() -> list[str]:
    found = [settings.DUBAN_SSO_KEY] if settings.DUBAN_SSO_KEY else []
    found += [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return list(dict.fromkeys(key for key in found if key))


def seal(secret: str) -> str:
    """The Fernet token of ``secret`` under the current key."""
    return _fernet(_materials()[0]).encrypt(secret.encode()).decode("ascii")


def unseal(token: str) -> str:
    try:
        return MultiFernet([_fernet(material) for material in _materials()]).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable("the client secret was sealed under a key no longer configured") from None
