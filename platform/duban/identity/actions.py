"""Writes of single sign-on: the county's provider and its role mapping (county admin or operator),
linking an account to its provider identity, and each login's outcome. Audited, one transaction each."""

from __future__ import annotations

import hashlib

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from duban.accounts.actions import do_change_role, do_create_user
from duban.accounts.models import COUNTY_ROLES, NO_ROLE, Role, User
from duban.audit import log as audit
from duban.core.actions import action
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.identity import oidc
from duban.identity.flow import refusal
from duban.identity.models import SsoProvider, SsoRoleMapping
from duban.identity.sealing import seal
from duban.units.models import Unit

ACTOR = "sso"  # the audit trail's actor of what a login itself does (accounts opened, roles mapped)
CLAIM_NAME_MAX = 100
SETTINGS_FIELDS = ("enabled", "issuer", "client_id", "scopes", "username_claim", "role_claim",
                   "create_unknown_users", "password_login", "trust_provider_mfa")


def _may_configure(actor) -> None:
    if hasattr(actor, "_meta") and actor.role != Role.COUNTY_ADMIN:
        raise NotAllowed(_("只有县管理员可以设置统一身份认证。"))


def _claim_name(value: str, field: str, *, required: bool) -> str:
    value = (value or "").strip()
    if not value:
        if required:
            raise Invalid(_("请填写用来识别用户的声明名称，例如 preferred_username 或 sub。"), field=field)
        return ""
    if len(value) > CLAIM_NAME_MAX or any(ch.isspace() for ch in value):
        raise Invalid(_("声明名称“%(name)s”不正确：不能含空格，最长100个字符。") % {"name": value[:40]}, field=field)
    return value


def _check_issuer(issuer: str) -> str:
    problem = oidc.url_problem(issuer) if issuer else "empty"
    messages = {
        "empty": _("请填写身份认证平台的地址（issuer），例如 https://id.example.gov.cn/realms/county。"),
        "malformed": _("身份认证平台的地址“%(url)s”不是有效的网址。"),
        "credentials": _("身份认证平台的地址“%(url)s”中不能含用户名或密码。"),
        "scheme": _("身份认证平台的地址“%(url)s”须以 https:// 开头"
                    "（明文 http 只允许运维在 DUBAN_SSO_HTTP_HOSTS 中列出的主机）。"),
        "host": _("身份认证平台的地址“%(url)s”不在运维允许的主机（DUBAN_SSO_ALLOWED_HOSTS）之内。"),
    }
    if problem:
        raise Invalid(messages[problem] % {"url": issuer[:200]}, field="issuer")
    if "?" in issuer or "#" in issuer:
        raise Invalid(messages["malformed"] % {"url": issuer[:200]}, field="issuer")
    return issuer


def _discovered(issuer: str) -> dict:
    """The provider's discovery document, or a refusal naming the issuer field."""
    failure = None
    for candidate in dict.fromkeys([issuer, issuer.rstrip("/")]):
        try:
            return oidc.discover(candidate, fresh=True)
        except oidc.ProviderFailure as exc:
            failure = exc
    if failure.code == "unreachable":
        raise Invalid(_("无法连接身份认证平台“%(url)s”，请检查地址，或请运维确认网络可达。") % {"url": issuer[:200]},
                      field="issuer") from None
    if failure.code == "policy":
        raise Invalid(_("身份认证平台“%(url)s”的发现文档中有运维不允许的地址（%(detail)s）。")
                      % {"url": issuer[:200], "detail": failure.detail[:200]}, field="issuer") from None
    raise Invalid(_("“%(url)s”不是可用的 OpenID Connect 身份认证平台（%(detail)s）。")
                  % {"url": issuer[:200], "detail": failure.detail[:200]}, field="issuer") from None


@action
def do_configure_sso(*, actor, issuer: str, client_id: str, client_secret: str | None = None,
                     scopes: str = "openid profile", username_claim: str = "preferred_username",
                     role_claim: str = "", create_unknown_users: bool = False, password_login: bool = True,
                     trust_provider_mfa: bool = True, enabled: bool = True, check: bool = True) -> SsoProvider:
    """Set the county's provider. ``client_secret`` None (or empty) keeps the stored one; the first
    configuration needs one. ``check`` reads the provider's discovery document first (the issuer
    must answer as itself), so that a typo is refused here rather than at the next login."""
    _may_configure(actor)
    issuer = _check_issuer((issuer or "").strip())
    client_id = (client_id or "").strip()
    if not client_id:
        raise Invalid(_("请填写在身份认证平台登记的客户端标识（client_id）。"), field="client_id")
    if len(client_id) > 255:
        raise Invalid(_("客户端标识不能超过255个字符。"), field="client_id")
    scope_list = list(dict.fromkeys((scopes or "").split()))
    if "openid" not in scope_list:
        raise Invalid(_("申请的信息范围须包含 openid，例如“openid profile”。"), field="scopes")
    if len(" ".join(scope_list)) > 500:
        raise Invalid(_("申请的信息范围过长。"), field="scopes")
    username_claim = _claim_name(username_claim, "username_claim", required=True)
    role_claim = _claim_name(role_claim, "role_claim", required=False)
    secret = (client_secret or "").strip()
    if len(secret) > 1000:
        raise Invalid(_("客户端密钥过长。"), field="client_secret")
    provider = SsoProvider.objects.select_for_update().first()
    if provider is None and not secret:
        raise Invalid(_("请填写在身份认证平台登记的客户端密钥。"), field="client_secret")
    if check:
        meta = _discovered(issuer)
        issuer = oidc.normal_issuer(issuer, meta["issuer"])
    values = {"enabled": bool(enabled), "issuer": issuer, "client_id": client_id, "scopes": " ".join(scope_list),
              "username_claim": username_claim, "role_claim": role_claim,
              "create_unknown_users": bool(create_unknown_users), "password_login": bool(password_login),
              "trust_provider_mfa": bool(trust_provider_mfa)}
    before = None
    if provider is None:
        provider = SsoProvider(**values)
    else:
        before = {field: getattr(provider, field) for field in SETTINGS_FIELDS}
        oidc.forget(provider.issuer)
        for field, value in values.items():
            setattr(provider, field, value)
    if secret:
        provider.client_secret_sealed = seal(secret)
    provider.save()
    oidc.forget(issuer)
    after = {field: getattr(provider, field) for field in SETTINGS_FIELDS}
    changed_before = {k: v for k, v in (before or {}).items() if after[k] != v} if before else None
    changed_after = {k: v for k, v in after.items() if before is None or before[k] != v}
    if secret:
        changed_after["client_secret"] = "replaced" if before is not None else "set"  # never the secret itself
    if before is not None and not changed_after:
        return provider
    audit.record(actor=actor, action="sso.configure", obj=provider, before=changed_before, after=changed_after)
    return provider


@action
def do_remove_sso(*, actor) -> bool:
    """Remove the county's provider and its mapping: everyone signs in with a password again.
    Accounts keep their provider identity (a later configuration finds them again)."""
    _may_configure(actor)
    provider = SsoProvider.objects.select_for_update().first()
    if provider is None:
        return False
    before = {field: getattr(provider, field) for field in SETTINGS_FIELDS}
    before["mappings"] = [m.claim_value for m in provider.mappings.all()]
    oidc.forget(provider.issuer)
    audit.record(actor=actor, action="sso.remove", obj=provider, before=before)
    provider.delete()
    return True


def _provider_for_mapping() -> SsoProvider:
    provider = SsoProvider.objects.first()
    if provider is None:
        raise NotFound(_("本县尚未设置统一身份认证，请先填写身份认证平台。"))
    return provider


@action
def do_set_sso_mapping(*, actor, claim_value: str, role: str, unit_code: str = "",
                       position: int | None = None) -> SsoRoleMapping:
    """A value of the role claim → a role (and, for unit staff, a unit); an existing mapping of the
    same value is replaced."""
    _may_configure(actor)
    provider = _provider_for_mapping()
    claim_value = (claim_value or "").strip()
    if not claim_value:
        raise Invalid(_("请填写声明值，例如用户所在的组“督查室”。"), field="claim_value")
    if len(claim_value) > 200:
        raise Invalid(_("声明值不能超过200个字符。"), field="claim_value")
    if role not in COUNTY_ROLES:
        raise Invalid(_("“%(role)s”不是可选的角色。") % {"role": role}, field="role")
    unit = None
    unit_code = (unit_code or "").strip()
    if role == Role.UNIT_STAFF:
        if not unit_code:
            raise Invalid(_("承办单位人员必须选择所属单位。"), field="unit")
        unit = Unit.objects.filter(code=unit_code).first()
        if unit is None:
            raise Invalid(_("没有编码为“%(code)s”的单位。") % {"code": unit_code}, field="unit")
        if not unit.is_active:
            raise Invalid(_("单位“%(name)s”已停用。") % {"name": unit.name}, field="unit")
    elif unit_code:
        raise Invalid(_("只有承办单位人员才属于某个单位。"), field="unit")
    mapping = SsoRoleMapping.objects.select_for_update().filter(provider=provider, claim_value=claim_value).first()
    before = None
    if mapping is None:
        last = provider.mappings.order_by("-position").values_list("position", flat=True).first()
        mapping = SsoRoleMapping(provider=provider, claim_value=claim_value,
                                 position=(last + 1) if last is not None else 0)
    else:
        before = {"role": mapping.role, "unit": mapping.unit.code if mapping.unit_id else None,
                  "position": mapping.position}
    mapping.role, mapping.unit = role, unit
    if position is not None:
        mapping.position = max(0, int(position))
    mapping.save()
    after = {"claim_value": claim_value, "role": role, "unit": unit.code if unit else None, "position": mapping.position}
    audit.record(actor=actor, action="sso.mapping.set", obj=mapping, before=before, after=after)
    return mapping


@action
def do_remove_sso_mapping(*, actor, claim_value: str) -> None:
    _may_configure(actor)
    provider = _provider_for_mapping()
    mapping = SsoRoleMapping.objects.filter(provider=provider, claim_value=(claim_value or "").strip()).first()
    if mapping is None:
        raise NotFound(_("没有值为“%(value)s”的角色映射。") % {"value": (claim_value or "")[:100]})
    audit.record(actor=actor, action="sso.mapping.remove", obj=mapping,
                 before={"claim_value": mapping.claim_value, "role": mapping.role,
                         "unit": mapping.unit.code if mapping.unit_id else None})
    mapping.delete()


@action
def do_link_sso_subject(user: User, *, actor, subject: str) -> User:
    """Tie an existing account to the provider identity whose user claim is ``subject`` (empty: untie),
    so that single sign-on finds it; the account is never found by its e-mail."""
    _may_configure(actor)
    if user.role not in (*COUNTY_ROLES, NO_ROLE):
        raise Invalid(_("平台和市级用户不在县里关联统一身份认证。"), field="username")
    subject = (subject or "").strip()
    if len(subject) > 255:
        raise Invalid(_("统一身份认证标识不能超过255个字符。"), field="subject")
    if subject:
        holder = User.objects.filter(sso_subject=subject).exclude(pk=user.pk).first()
        if holder is not None:
            raise Invalid(_("统一身份认证标识“%(subject)s”已关联到用户“%(username)s”。")
                          % {"subject": subject, "username": holder.username}, field="subject")
    before = user.sso_subject
    if (before or "") == subject:
        return user
    user.sso_subject = subject or None
    user.save(update_fields=["sso_subject"])
    audit.record(actor=actor, action="user.sso_link", obj=user, before={"subject": before},
                 after={"username": user.username, "subject": user.sso_subject})
    return user


# --- a login --------------------------------------------------------------------------------------
def _values(claim) -> list[str]:
    if isinstance(claim, str):
        return [claim]
    if isinstance(claim, list):
        return [str(v) for v in claim if isinstance(v, (str, int))]
    return []


def mapping_for(provider: SsoProvider, claims: dict) -> SsoRoleMapping | None:
    """The first mapping (by position) whose value the user's role claim carries, if its unit is active."""
    if not provider.role_claim:
        return None
    carried = set(_values(claims.get(provider.role_claim)))
    for mapping in provider.mappings.select_related("unit"):
        if mapping.claim_value in carried and (mapping.unit is None or mapping.unit.is_active):
            return mapping
    return None


def _free_username(subject: str, claims: dict) -> str:
    """A user name for an account opened by single sign-on: the subject or the preferred user name
    when valid and free, else ``sso-`` and a digest of the subject."""
    validator = UnicodeUsernameValidator()
    for candidate in (subject, claims.get("preferred_username")):
        if not isinstance(candidate, str) or not candidate or len(candidate) > 150:
            continue
        try:
            validator(candidate)
        except ValidationError:
            continue
        if not User.objects.filter(username=candidate).exists():
            return candidate
    base = "sso-" + hashlib.sha256(subject.encode()).hexdigest()[:12]
    name, n = base, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _text(claims: dict, name: str, limit: int) -> str:
    value = claims.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@action
def do_sso_login(provider: SsoProvider, claims: dict, *, mfa: bool) -> tuple[User, bool]:
    """The account a verified login stands for: found by the configured claim (``sso_subject``,
    never the e-mail), or opened when the county allows it — with the mapped role, or none until a
    county admin gives one. A mapping that matches sets the role and unit at every login (the
    provider's directory stays the source). Returns (user, opened now); raises flow.SsoRefused."""
    raw = claims.get(provider.username_claim)
    subject = raw.strip() if isinstance(raw, str) else (str(raw) if isinstance(raw, int) else "")
    if not subject or len(subject) > 255:
        raise refusal("claim", f"claim {provider.username_claim!r} missing", claim=provider.username_claim)
    user = User.objects.select_for_update().filter(sso_subject=subject).first()
    mapping = mapping_for(provider, claims)
    opened = False
    if user is None:
        if not provider.create_unknown_users:
            raise refusal("unknown_user", f"no account for {subject!r}", subject=subject)
        user = do_create_user(
            _free_username(subject, claims), actor=ACTOR, role=mapping.role if mapping else NO_ROLE, password=None,
            full_name=_text(claims, "name", 100), email=_text(claims, "email", 254),
            phone=_text(claims, "phone_number", 32), unit=mapping.unit if mapping else None, sso_subject=subject)
        opened = True
    elif not user.is_active:
        raise refusal("inactive", f"account {user.username!r} inactive", subject=subject)
    elif mapping is not None and (mapping.role, mapping.unit_id) != (user.role, user.unit_id):
        do_change_role(user, actor=ACTOR, role=mapping.role, unit=mapping.unit)
    audit.record(actor=user, action="sso.login", obj=user,
                 after={"subject": subject, "amr": claims.get("amr"), "mfa": mfa,
                        "mapping": mapping.claim_value if mapping else None, "opened": opened})
    return user, opened


@action
def do_record_sso_refusal(*, reason: str, detail: str = "", subject: str = "") -> None:
    """A refused single sign-on, in the county's audit trail (no user: nobody signed in)."""
    audit.record(actor=ACTOR, action="sso.refused", object_type="identity.ssoprovider", object_id="",
                 after={"reason": reason, "detail": detail[:500], "subject": subject[:255]})
