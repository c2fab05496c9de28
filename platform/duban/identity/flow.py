"""The login through a county's provider, step by step, on the county's own host.

``start``: a fresh ``state``, ``nonce`` and PKCE ``code_verifier`` are kept in the visitor's session
(the county's schema: a session of another host never holds them) and the provider's
authorization URL returned. ``finish``: the callback's ``state`` must be one this session started
(and is used up at once: a replayed callback finds nothing), the provider's ``iss`` (RFC 9207)
must be the county's issuer; the code is exchanged with the verifier, the ID token verified
(duban.identity.oidc) and the claims handed back. Every refusal is a :class:`SsoRefused` whose
message is what the visitor reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.utils.translation import gettext as _

from duban.core.errors import NotAllowed
from duban.identity import oidc
from duban.identity.sealing import SecretUnreadable, unseal

PENDING_KEY = "duban_sso_pending"  # {state: {nonce, verifier, next, at}}
ID_TOKEN_KEY = "duban_sso_id_token"  # the ID token of the session's SSO login (logout's id_token_hint)
MFA_KEY = "duban_sso_mfa"  # the provider asserted a second factor for this session's login
PENDING_SECONDS = 600  # a login started longer ago than this is refused
PENDING_MAX = 5  # logins started in other tabs that are kept at once


class SsoRefused(NotAllowed):
    """A refused single sign-on: the message is for the visitor; ``reason`` (a short code) and
    ``detail`` go to the audit trail."""

    def __init__(self, message: str, *, reason: str, detail: str = "", subject: str = ""):
        self.reason = reason
        self.detail = detail
        self.subject = subject
        super().__init__(message)


def refusal(reason: str, detail: str = "", **values) -> SsoRefused:
    """The refusal for ``reason``, its message in the visitor's language."""
    messages = {
        "not_configured": _("本县尚未启用统一身份认证登录，请使用用户名和密码登录。"),
        "state": _("这次登录不是从本县的登录页发起的，或已经用过、已过期，已拒绝。请回到本县登录页重新登录。"),
        "issuer": _("登录结果来自另一个身份认证平台，不是本县配置的平台，已拒绝。"),
        "provider_error": _("统一身份认证平台没有完成这次登录。请重新登录；如仍不行，请联系本县系统管理员。"),
        "token": _("统一身份认证平台拒绝了这次登录凭据（可能已经用过或已过期），请重新登录。"),
        "id_token": _("统一身份认证平台返回的身份凭据未通过校验（签名、签发方、接收方、有效期或随机码不符），已拒绝登录。"),
        "userinfo": _("统一身份认证平台返回的用户信息与身份凭据不一致，已拒绝登录。"),
        "claim": _("身份凭据中没有本县用来识别用户的“%(claim)s”，无法登录，请联系本县系统管理员。"),
        "unknown_user": _("统一身份认证账号“%(subject)s”在本县没有对应的账号。请联系本县系统管理员开通或关联账号。"),
        "inactive": _("该账号已停用，请联系本县系统管理员。"),
        "unavailable": _("暂时无法连接统一身份认证平台，请稍后再试；如急需登录，请联系本县系统管理员。"),
        "secret": _("本县统一身份认证的客户端密钥无法读取（加密密钥已更换），请联系本县系统管理员重新填写。"),
    }
    message = messages[reason] % values if values else messages[reason]
    return SsoRefused(message, reason=reason, detail=detail, subject=values.get("subject", ""))


def _failure(exc: oidc.ProviderFailure) -> SsoRefused:
    reason = {"unreachable": "unavailable", "discovery": "unavailable", "policy": "unavailable",
              "token": "token", "id_token": "id_token", "userinfo": "userinfo"}[exc.code]
    return refusal(reason, exc.detail or exc.code)


def metadata(provider) -> dict:
    try:
        return oidc.discover(provider.issuer)
    except oidc.ProviderFailure as exc:
        raise _failure(exc) from None


def start(session, provider, *, redirect_uri: str, next_url: str) -> str:
    """Remember a new login attempt in ``session``; the URL to send the visitor to."""
    if provider is None or not provider.enabled:
        raise refusal("not_configured")
    request = oidc.authorization_request(provider, metadata(provider), redirect_uri)
    now = time.time()
    pending = {state: data for state, data in (session.get(PENDING_KEY) or {}).items()
               if now - data.get("at", 0) < PENDING_SECONDS}
    for stale in sorted(pending, key=lambda s: pending[s]["at"])[:max(0, len(pending) - PENDING_MAX + 1)]:
        del pending[stale]
    pending[request.state] = {"nonce": request.nonce, "verifier": request.code_verifier, "next": next_url, "at": now}
    session[PENDING_KEY] = pending
    return request.url


@dataclass(frozen=True)
class Outcome:
    claims: dict
    id_token: str
    next_url: str
    mfa: bool  # the provider asserted a second factor (amr)


def finish(session, provider, params, *, redirect_uri: str) -> Outcome:
    """Check the provider's answer (the callback's query ``params``) and return the verified claims."""
    if provider is None or not provider.enabled:
        raise refusal("not_configured")
    state = params.get("state") or ""
    pending = dict(session.get(PENDING_KEY) or {})
    attempt = pending.pop(state, None) if state else None
    session[PENDING_KEY] = pending  # used up, whatever follows: a replayed callback finds nothing
    if attempt is None:
        raise refusal("state", "unknown state" if state else "no state")
    if time.time() - attempt.get("at", 0) >= PENDING_SECONDS:
        raise refusal("state", "expired state")
    meta = metadata(provider)
    issued_by = params.get("iss")
    if issued_by is not None and issued_by != meta["issuer"]:
        raise refusal("issuer", f"iss {issued_by!r}")
    if params.get("error"):
        raise refusal("provider_error", f"{params.get('error')}: {params.get('error_description', '')}"[:300])
    code = params.get("code")
    if not code:
        raise refusal("provider_error", "no code")
    try:
        secret = unseal(provider.client_secret_sealed)
    except SecretUnreadable:
        raise refusal("secret", "client secret unreadable") from None
    try:
        token = oidc.exchange_code(provider, secret, meta, code=code, code_verifier=attempt["verifier"],
                                   redirect_uri=redirect_uri)
        claims = oidc.verify_id_token(token["id_token"], meta, client_id=provider.client_id, nonce=attempt["nonce"],
                                      access_token=token.get("access_token"))
        extra = oidc.userinfo(meta, token.get("access_token", ""), claims["sub"])
    except oidc.ProviderFailure as exc:
        raise _failure(exc) from None
    merged = {**extra, **claims}  # the signed ID token wins where both say something
    mfa = provider.trust_provider_mfa and oidc.asserts_mfa(claims.get("amr"))
    return Outcome(claims=merged, id_token=token["id_token"], next_url=attempt.get("next") or "/", mfa=mfa)


def logout_url(provider, id_token: str | None, *, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser after our own logout: the provider's end-session endpoint with
    the ID token as hint, when the login was an SSO one and the provider offers it."""
    if provider is None or not id_token:
        return None
    try:
        meta = oidc.discover(provider.issuer)
    except oidc.ProviderFailure:
        return None
    return oidc.end_session_url(meta, id_token=id_token, client_id=provider.client_id,
                                post_logout_redirect_uri=post_logout_redirect_uri)
