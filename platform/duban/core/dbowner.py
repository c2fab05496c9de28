"""The owner role's connection, for the commands that change structure or privileges.

Production runs two PostgreSQL roles (docs/operations.md, "Database roles"): the OWNER owns every
schema and table and runs migrations, county creation, backups and restores; the APP role
(DATABASE_URL, used by web, worker and beat) owns nothing and holds only the privileges
`duban db grant-app-role` gives it — so it can neither ALTER a table (disable the append-only
triggers) nor, not being a superuser, set ``session_replication_role``.

:func:`use_owner_connection` switches the process's default connection to the owner's
credentials (``DUBAN_OWNER_DATABASE_URL``) when it is set; the DDL commands call it first. With
one URL only (development, the demo, the tests) it changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections

_KEYS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


_app_user: str | None = None  # DATABASE_URL's user, remembered when the switch is made


def owner_configured() -> bool:
    return bool(getattr(settings, "DUBAN_OWNER_DATABASE", None))


def app_role_name() -> str | None:
    """The app role (DATABASE_URL's user) when the owner's URL is set apart from it, else None."""
    if not owner_configured():
        return None
    return _app_user or settings.DATABASES["default"].get("USER") or None


def use_owner_connection() -> bool:
    """Point the default connection (of this process, and of threads and forked children that open
    one later) at the owner role. True if it did; no-op without DUBAN_OWNER_DATABASE_URL."""
    global _app_user
    owner = getattr(settings, "DUBAN_OWNER_DATABASE", None)
    if not owner:
        return False
    conn = connections["default"]
    if _app_user is not None and conn.settings_dict.get("USER") == owner["USER"]:
        return True
    if conn.in_atomic_block:
        raise RuntimeError("use_owner_connection() inside a transaction")
    conn.close()
    _app_user = conn.settings_dict.get("USER")
    # The same dict as settings.DATABASES["default"]: connections opened later (other threads,
    # forked migration workers) log in as the owner too. NAME stays (a test run renames it).
    for key in _KEYS:
        value = owner.get(key)
        conn.settings_dict[key] = dict(value) if key == "OPTIONS" else (value or "")
    return True


def permission_denied(exc: BaseException) -> bool:
    """True if a database error is PostgreSQL's "insufficient privilege" (SQLSTATE 42501)."""
    cause = getattr(exc, "__cause__", None) or exc
    return getattr(cause, "sqlstate", None) == "42501"
