"""Talking to a county's OpenID Connect provider, with Authlib (the OAuth 2.0 client: authorization
URL with PKCE, the code exchange with client authentication) and joserfc (Authlib's JOSE
library: the ID token's signature against the provider's JWKS, then Authlib's ``CodeIDToken``
rules for ``iss``, ``aud``/``azp``, ``exp``/``iat``, ``nonce`` and ``at_hash``).

Nothing here knows about requests to our site or sessions (duban.identity.flow does); every
failure is a :class:`ProviderFailure` with a short code for the audit trail.

Where the provider may be: its issuer and every endpoint its discovery document names must be
``https`` (plain ``http`` only to hosts in ``DUBAN_SSO_HTTP_HOSTS``), on a host listed in
``DUBAN_SSO_ALLOWED_HOSTS`` when the operator sets that list, and carry no user name or password.
Redirects are never followed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

TIMEOUT = 10  # seconds for every call to the provider
METADATA_SECONDS = 300  # discovery document and JWKS kept this long (per county, per issuer)
LEEWAY = 60  # seconds of clock difference tolerated on exp/iat
# Asymmetric signatures only: an ID token signed with the client secret (HS*) or unsigned is refused.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# `amr` values (RFC 8176) that mean the provider checked a second factor.
MFA_METHODS = frozenset({"mfa", "otp", "hwk", "sc"})
DISCOVERY_PATH = "/.well-known/openid-configuration"


class ProviderFailure(Exception):
    """``code``: unreachable, discovery, policy, token, id_token, userinfo; ``detail``: what exactly
    (English, for the audit trail and the operator)."""

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


def _host_listed(host: str, entries) -> bool:
    host = host.lower().rstrip(".")
    for entry in entries:
        if entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif host == entry:
            return True
    return False


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be used for a provider (``scheme``, ``host``, ``credentials``,
    ``malformed``), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        return "malformed"
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        return "malformed"
    if parts.username or parts.password:
        return "credentials"
    if parts.scheme == "http" and not _host_listed(host, settings.DUBAN_SSO_HTTP_HOSTS):
        return "scheme"
    if settings.DUBAN_SSO_ALLOWED_HOSTS and not _host_listed(host, settings.DUBAN_SSO_ALLOWED_HOSTS):
        return "host"
    return None


def _get_json(url: str, what: str) -> dict:
    problem = url_problem(url)
    if problem:
        raise ProviderFailure("policy", f"{what} {url}: {problem}")
    try:
        response = requests.get(url, timeout=TIMEOUT, allow_redirects=False, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise ProviderFailure("unreachable", f"{what} {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise ProviderFailure("discovery", f"{what} {url}: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise ProviderFailure("discovery", f"{what} {url}: not JSON") from None
    if not isinstance(data, dict):
        raise ProviderFailure("discovery", f"{what} {url}: not a JSON object")
    return data


def _cache_key(kind: str, url: str) -> str:
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    return f"duban:sso:{connection.schema_name}:{kind}:{digest}"


def discover(issuer: str, *, fresh: bool = False) -> dict:
    """The provider's discovery document, checked (OpenID Connect Discovery 1.0, §4.3): its
    ``issuer`` is exactly the configured one, it names the endpoints the flow needs, each of them
    allowed by the operator's settings, and PKCE with S256 when it lists its PKCE methods."""
    key = _cache_key("meta", issuer)
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    meta = _get_json(issuer.rstrip("/") + DISCOVERY_PATH, "discovery")
    if meta.get("issuer") != issuer:
        raise ProviderFailure("discovery", f"issuer {meta.get('issuer')!r} is not {issuer!r}")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(name), str):
            raise ProviderFailure("discovery", f"{name} missing")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"):
        if meta.get(name) is not None and (not isinstance(meta[name], str) or url_problem(meta[name])):
            raise ProviderFailure("policy", f"{name} {meta.get(name)!r}: {url_problem(str(meta[name]))}")
    methods = meta.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in methods:
        raise ProviderFailure("discovery", "PKCE S256 not supported")
    cache.set(key, meta, METADATA_SECONDS)
    return meta


def forget(issuer: str) -> None:
    """Drop the cached discovery document (the configuration changed)."""
    cache.delete(_cache_key("meta", issuer))


def normal_issuer(entered: str, meta_issuer: str) -> str:
    """The issuer as the provider spells it, when ``entered`` differs only by a trailing slash."""
    return meta_issuer if meta_issuer.rstrip("/") == entered.rstrip("/") else entered


def _key_set(meta: dict, *, fresh: bool = False) -> KeySet:
    key = _cache_key("jwks", meta["jwks_uri"])
    data = None if fresh else cache.get(key)
    if data is None:
        data = _get_json(meta["jwks_uri"], "jwks")
        cache.set(key, data, METADATA_SECONDS)
    try:
        return KeySet.import_key_set(data)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProviderFailure("discovery", f"jwks: {exc}") from None


def _client(provider, secret: str, meta: dict, redirect_uri: str) -> OAuth2Session:
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    session = OAuth2Session(provider.client_id, secret, scope=provider.scopes, redirect_uri=redirect_uri,
                            code_challenge_method="S256", token_endpoint_auth_method=method)
    session.trust_env = False  # no proxy variables: the provider is reached directly
    return session


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def authorization_request(provider, meta: dict, redirect_uri: str) -> AuthorizationRequest:
    """The provider's authorization URL for the code flow, with a fresh state, nonce and PKCE verifier."""
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    client = OAuth2Session(provider.client_id, scope=provider.scopes, redirect_uri=redirect_uri,
                           code_challenge_method="S256")
    url, _state = client.create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                                  code_verifier=verifier)
    return AuthorizationRequest(url, state, nonce, verifier)


def exchange_code(provider, secret: str, meta: dict, *, code: str, code_verifier: str, redirect_uri: str) -> dict:
    """The token response for ``code`` (the client authenticated with its secret, the PKCE verifier sent)."""
    client = _client(provider, secret, meta, redirect_uri)
    try:
        token = client.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                   code_verifier=code_verifier, timeout=TIMEOUT, allow_redirects=False)
    except OAuthError as exc:
        raise ProviderFailure("token", f"{exc.error}: {exc.description or ''}".strip()) from None
    except requests.RequestException as exc:
        raise ProviderFailure("unreachable", f"token endpoint: {type(exc).__name__}") from None
    except ValueError as exc:  # not JSON
        raise ProviderFailure("token", f"token response: {exc}") from None
    finally:
        client.close()
    if not isinstance(token.get("id_token"), str):
        raise ProviderFailure("token", "no id_token in the token response")
    return dict(token)


def verify_id_token(id_token: str, meta: dict, *, client_id: str, nonce: str, access_token: str | None) -> dict:
    """The ID token's claims once its signature (the provider's JWKS; a key id not found fetches the
    JWKS again, once) and its claims check out: ``iss`` is the provider, ``aud`` holds our client id
    (``azp`` is ours when there are several audiences), ``exp`` not passed, ``nonce`` the one we sent,
    ``at_hash`` matches the access token."""
    offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in SIGNING_ALGORITHMS] or ["RS256"]
    try:
        try:
            token = jwt.decode(id_token, _key_set(meta), algorithms=algorithms)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, _key_set(meta, fresh=True), algorithms=algorithms)
        options = {"iss": {"essential": True, "value": meta["issuer"]},
                   "aud": {"essential": True, "value": client_id},
                   "exp": {"essential": True}, "sub": {"essential": True}}
        params = {"nonce": nonce, "client_id": client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(token.claims, token.header, options, params)
        claims.validate(leeway=LEEWAY)
    except ExpiredTokenError:
        raise ProviderFailure("id_token", "expired") from None
    except JoseError as exc:
        raise ProviderFailure("id_token", f"{type(exc).__name__}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise ProviderFailure("id_token", f"malformed: {exc}") from None
    if not nonce or claims.get("nonce") != nonce:  # CodeIDToken checks it when sent; we always send one
        raise ProviderFailure("id_token", "nonce")
    return dict(claims)


def userinfo(meta: dict, access_token: str, subject: str) -> dict:
    """The userinfo endpoint's claims (for providers that keep profile and group claims out of the
    ID token), which must name the same ``sub``; empty when the provider has no such endpoint or
    answers with a signed JWT instead of JSON."""
    url = meta.get("userinfo_endpoint")
    if not url or not access_token:
        return {}
    try:
        response = requests.get(url, headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                                timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise ProviderFailure("unreachable", f"userinfo: {type(exc).__name__}") from None
    if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
        return {}
    try:
        data = response.json()
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    if data.get("sub") != subject:
        raise ProviderFailure("userinfo", "sub differs from the ID token's")
    return data


def asserts_mfa(amr) -> bool:
    """The ID token's ``amr`` says a second factor was checked (RFC 8176: mfa, otp, hwk, sc)."""
    return isinstance(amr, list) and any(isinstance(m, str) and m in MFA_METHODS for m in amr)


def end_session_url(meta: dict, *, id_token: str, client_id: str, post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout at the provider (OpenID Connect RP-Initiated Logout 1.0), when it offers it."""
    endpoint = meta.get("end_session_endpoint")
    if not endpoint:
        return None
    return add_params_to_uri(endpoint, [("id_token_hint", id_token), ("client_id", client_id),
                                        ("post_logout_redirect_uri", post_logout_redirect_uri)])
