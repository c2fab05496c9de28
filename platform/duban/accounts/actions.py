"""Writes to users, their API tokens and authenticator devices. Each action validates fully,
audits, and runs in one transaction (``duban.core.actions``)."""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.accounts import tokens
from duban.accounts.models import COUNTY_ROLES, NO_ROLE, ApiToken, Role, User
from duban.audit import log as audit
from duban.core.actions import action
from duban.core.errors import Invalid


@action
def do_create_user(username: str, *, actor, role: str, password: str | None, full_name: str = "",
                   phone: str = "", email: str = "", unit=None, is_staff: bool = False,
                   sso_subject: str | None = None) -> User:
    """A new user. ``role`` NO_ROLE (a county account opened by single sign-on, duban.identity)
    needs a provider identity and no password: the user waits for a county admin to give a role."""
    username = (username or "").strip()
    if not username:
        raise Invalid(_("请填写用户名。"), field="username")
    if len(username) > 150:
        raise Invalid(_("用户名不能超过150个字符。"), field="username")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise Invalid(_("用户名只能包含字母、数字和 @ . + - _ 这几个符号。"), field="username") from None
    if role not in Role.values and not (role == NO_ROLE and sso_subject and password is None):
        raise Invalid(_("角色不正确。"), field="role")
    if role in COUNTY_ROLES and (role == Role.UNIT_STAFF) != (unit is not None):
        raise Invalid(_("单位工作人员须属于一个单位，其他角色不属于任何单位。"), field="unit")
    if User.objects.filter(username=username).exists():
        raise Invalid(_("用户名“%(username)s”已被使用。") % {"username": username}, field="username")
    user = User.objects.create_user(username=username, password=password, role=role,
                                    full_name=full_name, phone=phone, email=email, unit=unit,
                                    sso_subject=sso_subject or None,
                                    is_staff=is_staff or role == Role.COUNTY_ADMIN,
                                    # A county admin has every right in the county's own admin site.
                                    is_superuser=role == Role.COUNTY_ADMIN)
    after = {"username": username, "role": role, "unit": unit.code if unit else None}
    if sso_subject:
        after["sso_subject"] = sso_subject
    audit.record(actor=actor, action="user.create", obj=user, after=after)
    return user


@action
def do_issue_token(user: User, *, actor) -> str:
    """A new API token for ``user`` (any previous one stops working); returns the key, which is
    stored only as a hash and cannot be shown again. Tokens live in the user's own schema, so a
    county's token is valid on that county's host only."""
    if not user.is_active:
        raise Invalid(_("用户“%(username)s”已停用。") % {"username": user.username}, field="username")
    had = ApiToken.objects.filter(user=user).delete()[0] > 0
    key = tokens.new_key()
    token = ApiToken.objects.create(user=user, prefix=key[:tokens.PREFIX_LENGTH], digest=tokens.key_digest(key))
    audit.record(actor=actor, action="token.rotate" if had else "token.issue", obj=user,
                 after={"username": user.username, "prefix": token.prefix})
    return key


@action
def do_revoke_token(user: User, *, actor) -> bool:
    revoked = ApiToken.objects.filter(user=user).delete()[0] > 0
    if revoked:
        audit.record(actor=actor, action="token.revoke", obj=user, after={"username": user.username})
    return revoked


@action
def do_change_role(user: User, *, actor, role: str, unit=None) -> User:
    """Give ``user`` another role (and, for unit staff, their unit). The only way a role changes:
    the admin site shows roles read-only. A county admin's rights in the admin site follow the
    role, as when the user was created."""
    if hasattr(actor, "_meta"):
        if actor.role != Role.COUNTY_ADMIN:
            raise Invalid(_("只有县管理员可以更改用户角色。"), field="role")
        if actor.pk == user.pk:
            raise Invalid(_("不能更改自己的角色，请由另一位县管理员操作。"), field="username")
    if user.role not in (*COUNTY_ROLES, NO_ROLE):  # NO_ROLE: opened by single sign-on, waiting for one
        raise Invalid(_("平台和市级用户的角色不在县里更改。"), field="username")
    if role not in COUNTY_ROLES:
        raise Invalid(_("“%(role)s”不是可选的角色。") % {"role": role}, field="role")
    if role == Role.UNIT_STAFF and unit is None:
        raise Invalid(_("承办单位人员必须选择所属单位。"), field="unit")
    if role != Role.UNIT_STAFF and unit is not None:
        raise Invalid(_("只有承办单位人员才属于某个单位。"), field="unit")
    if unit is not None and not unit.is_active:
        raise Invalid(_("单位“%(name)s”已停用。") % {"name": unit.name}, field="unit")
    before = {"role": user.role, "unit": user.unit.code if user.unit_id else None}
    after = {"role": role, "unit": unit.code if unit is not None else None}
    if before == after:
        return user
    user.role, user.unit = role, unit
    user.is_staff = user.is_superuser = role == Role.COUNTY_ADMIN
    user.save(update_fields=["role", "unit", "is_staff", "is_superuser"])
    audit.record(actor=actor, action="user.role", obj=user, before=before, after=after)
    return user


@action
def do_remove_otp_devices(devices, *, actor) -> int:
    """The admin site's removal of a user's authenticator (a lost phone): the user signs in with
    the password alone until they set up a new one."""
    removed = 0
    for device in devices:
        audit.record(actor=actor, action="otp.disable", obj=device.user, before={"device": device.pk})
        device.delete()
        removed += 1
    return removed


# The fields the county admin site may still change on a user (roles and admin rights go
# through do_change_role; passwords through do_set_password).
ADMIN_EDITABLE_FIELDS = ("username", "first_name", "last_name", "full_name", "email", "phone", "is_active")


@action
def do_update_user(user: User, *, actor, changes: dict) -> User:
    """Save the admin site's changes to a user's details (name, contact, active or not), audited
    with each changed field's value before and after."""
    unknown = set(changes) - set(ADMIN_EDITABLE_FIELDS)
    if unknown:
        raise Invalid(_("这些字段不能在此修改：%(fields)s") % {"fields": "、".join(sorted(unknown))},
                        field=sorted(unknown)[0])
    stored = User.objects.select_for_update().get(pk=user.pk)
    before = {f: getattr(stored, f) for f in changes if getattr(stored, f) != changes[f]}
    if not before:
        return user
    for field in before:
        setattr(user, field, changes[field])
    user.save(update_fields=list(before))
    audit.record(actor=actor, action="user.update", obj=user, before=before,
                 after={f: changes[f] for f in before})
    return user


@action
def do_set_password(user: User, *, actor, password: str | None) -> User:
    """Set (or, with None, disable) a user's password, audited without the password itself."""
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(actor=actor, action="user.password", obj=user,
                 after={"username": user.username, "usable": password is not None})
    return user


@action
def do_confirm_device(device: TOTPDevice, *, actor) -> TOTPDevice:
    """Confirm a user's pending authenticator device (``actor``: the user, who has just typed a
    valid code from it — checked by the caller, ``duban.web.otp.confirm_device``, before this
    transaction, so that a wrong code's throttle is never rolled back). One confirmed device per
    user: any other device is dropped."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
    audit.record(actor=actor, action="otp.enable", obj=actor, after={"device": device.pk})
    return device


@action
def do_remove_device(device: TOTPDevice, *, actor) -> None:
    """Turn a user's second factor off (``actor``: the user, whose current code the caller has
    checked): every device of theirs goes."""
    TOTPDevice.objects.filter(user=actor).delete()
    audit.record(actor=actor, action="otp.disable", obj=actor, before={"device": device.pk})
