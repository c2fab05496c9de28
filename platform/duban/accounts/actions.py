"""Writes to users. Each action validates fully, audits, and runs in one transaction."""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction

from duban.accounts.models import COUNTY_ROLES, Role, User
from duban.audit import log as audit


class UserError(ValueError):
    def __init__(self, message: str, *, field: str):
        self.field = field
        super().__init__(message)


@transaction.atomic
def do_create_user(username: str, *, actor, role: str, password: str | None, full_name: str = "",
                   phone: str = "", email: str = "", unit=None, is_staff: bool = False) -> User:
    username = (username or "").strip()
    if not username:
        raise UserError("a user needs a user name", field="username")
    if len(username) > 150:
        raise UserError("the user name is longer than 150 characters", field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise UserError("a user name has letters, digits and @ . + - _ only", field="username") from None
    if role not in Role.values:
        raise UserError(f"unknown role {role!r}", field="role")
    if role in COUNTY_ROLES and (role == Role.UNIT_STAFF) != (unit is not None):
        raise UserError("unit staff must belong to one unit, and only unit staff do", field="unit")
    if User.objects.filter(username=username).exists():
        raise UserError(f"user name {username!r} is taken", field="username")
    user = User.objects.create_user(username=username, password=password, role=role,
                                    full_name=full_name, phone=phone, email=email, unit=unit,
                                    is_staff=is_staff or role == Role.COUNTY_ADMIN,
                                    # A county admin has every right in the county's own admin site.
                                    is_superuser=role == Role.COUNTY_ADMIN)
    audit.record(actor=actor, action="user.create", obj=user, after={
        "username": username, "role": role, "unit": unit.code if unit else None})
    return user


@transaction.atomic
def do_issue_token(user: User, *, actor) -> str:
    """A new API token for ``user`` (any previous one stops working). Tokens live in the user's
    own schema, so a county's token is valid on that county's host only."""
    from rest_framework.authtoken.models import Token

    if not user.is_active:
        raise UserError(f"user {user.username!r} is deactivated", field="username")
    had = Token.objects.filter(user=user).delete()[0] > 0
    token = Token.objects.create(user=user)
    audit.record(actor=actor, action="token.rotate" if had else "token.issue", obj=user,
                 after={"username": user.username})
    return token.key


@transaction.atomic
def do_revoke_token(user: User, *, actor) -> bool:
    from rest_framework.authtoken.models import Token

    revoked = Token.objects.filter(user=user).delete()[0] > 0
    if revoked:
        audit.record(actor=actor, action="token.revoke", obj=user, after={"username": user.username})
    return revoked
