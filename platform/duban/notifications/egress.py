"""Where a group-robot webhook may go, and how it gets there (issue 18 point 3).

A webhook target's address is chosen by a county admin, but the POST leaves from a worker inside
the operator's network: unguarded, it reaches the database, Redis, the cloud's metadata service
(169.254.169.254) or any intranet service, and the recorded error tells what answered. So:

- Saving a target (``WebhookTarget.clean``, hence the admin site and any model form): the host must
  be one the operator allows (``DUBAN_WEBHOOK_ALLOWED_HOSTS``; by default the WeCom and DingTalk
  robot hosts), over https unless the operator allows that host over http
  (``DUBAN_WEBHOOK_HTTP_HOSTS``), with no user name or password in the address.
- Delivering (:func:`post`): the same check again (the settings may have changed; rows may predate
  the guard), then the host is resolved once; if ANY of its addresses is not public — loopback,
  private, link-local, multicast, reserved, unspecified, shared (100.64/10), and the IPv4-mapped,
  6to4, Teredo and NAT64 forms of those — and not inside ``DUBAN_WEBHOOK_ALLOWED_NETWORKS``,
  nothing is sent. The connection goes to the vetted address itself (no second lookup: DNS
  rebinding cannot swap it), with the host name in the Host header and as the TLS server name, the
  certificate checked for that name. Redirects are never followed: a 3xx is a failure. Proxy
  variables (``HTTPS_PROXY``…) are not used.
- A refusal is recorded in the outbox as "已拒绝：地址不允许" without the address or any answer;
  the worker's log says which host and address were refused, for the operator.

The channels that reach a person (plugins/channels_cn: WeCom, DingTalk, SMS) go out the same way
(:func:`request`, :func:`vet`) to the providers' APIs the operator configured
(``DUBAN_WECOM_API_BASE`` …, :func:`provider_hosts`): those hosts are allowed because the operator
named them, and every other rule above still applies.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are IPv4


class Refused(RuntimeError):
    """Not sent: the address is not allowed, or the robot answered with a redirect."""


def normal_host(host: str) -> str:
    """A host as the settings spell it: lower case, no trailing dot, IP addresses in their short
    form (``::ffff:7f00:1``), internationalised names in their ASCII (IDNA) form."""
    host = host.strip().strip("[]").lower().rstrip(".")
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def host_listed(host: str, entries) -> bool:
    """``host`` is one of ``entries`` (``.example.gov.cn``: that domain or any name under it)."""
    host = normal_host(host)
    for entry in entries:
        if entry.startswith("."):
            domain = normal_host(entry[1:])
            if host == domain or host.endswith("." + domain):
                return True
        elif host == normal_host(entry):
            return True
    return False


def address_allowed(address: Address) -> bool:
    """A webhook may connect to ``address``: it is public, or inside a network the operator allowed."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    elif address.version == 6 and address in _NAT64:
        address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)  # DNS64 names an IPv4 host so
    if any(address in ipaddress.ip_network(network, strict=False)
           for network in settings.DUBAN_WEBHOOK_ALLOWED_NETWORKS):
        return True
    if (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global):
        return False
    if address.version == 6:
        if address.is_site_local:
            return False
        embedded = [address.sixtofour, address.teredo[1] if address.teredo else None]
        if any(inner is not None and not address_allowed(inner) for inner in embedded):
            return False
    return True


def provider_hosts() -> list[str]:
    """The hosts of the providers' APIs the operator configured for the channels that reach a
    person (the settings' defaults are the providers' real hosts)."""
    urls = (settings.DUBAN_WECOM_API_BASE, settings.DUBAN_DINGTALK_API_BASE, settings.DUBAN_ALIYUN_SMS_ENDPOINT,
            settings.DUBAN_TENCENT_SMS_ENDPOINT)
    return [normal_host(urlsplit(url).hostname or "") for url in urls if url]


def url_problem(url: str, *, extra_hosts=()) -> str | None:
    """What is wrong with ``url`` as a webhook target under the operator's settings, in a sentence
    for the county admin; None when it may be saved. Resolves nothing (see :func:`post`).
    ``extra_hosts`` are allowed besides ``DUBAN_WEBHOOK_ALLOWED_HOSTS`` (the providers' APIs)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        return _("地址格式不正确。")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return _("群机器人地址须以 https:// 开头。")
    if parts.username is not None or parts.password is not None:
        return _("群机器人地址中不能含用户名或密码。")
    if not parts.hostname:
        return _("群机器人地址缺少主机名。")
    host = normal_host(parts.hostname)
    if not host_listed(host, [*settings.DUBAN_WEBHOOK_ALLOWED_HOSTS, *extra_hosts]):
        return _("主机“%(host)s”不在允许的群机器人主机之列（默认只允许企业微信、钉钉的机器人地址）；"
                 "如需使用其他主机，请联系平台运维人员。") % {"host": host}
    if scheme == "http" and not host_listed(host, settings.DUBAN_WEBHOOK_HTTP_HOSTS):
        return _("群机器人地址须以 https:// 开头：主机“%(host)s”未获准使用不加密的 http://。") % {"host": host}
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not address_allowed(literal):
        return _("群机器人地址不能指向内部网络。")
    return None


def refused_address() -> Refused:
    return Refused(_("已拒绝：地址不允许"))


def vetted_addresses(host: str, port: int) -> list[tuple[int, tuple]]:
    """``host`` resolved once: (family, socket address) of each address, all of them allowed —
    else :class:`Refused` (one address not allowed is enough: the name may answer either)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise RuntimeError(_("无法解析主机名 %(host)s") % {"host": host}) from None
    addresses = []
    for family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not address_allowed(address):
            logger.warning("webhook to %s refused: it resolves to %s, outside the allowed networks", host, address)
            raise refused_address()
        addresses.append((family, sockaddr))
    if not addresses:
        raise RuntimeError(_("无法解析主机名 %(host)s") % {"host": host})
    return addresses


def _connect(addresses: list[tuple[int, tuple]], timeout: float) -> socket.socket:
    error: OSError | None = None
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    assert error is not None
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the addresses vetted before, never to what a new lookup of the name would say."""

    def __init__(self, host: str, port: int, *, addresses, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.vetted = addresses

    def connect(self) -> None:
        self.sock = _connect(self.vetted, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the vetted addresses; the server name (SNI) and the certificate check are the host's."""

    def __init__(self, host: str, port: int, *, addresses, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.vetted = addresses

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(_connect(self.vetted, self.timeout), server_hostname=self.host)


def post(url: str, body: bytes, headers: dict, *, timeout: float) -> tuple[int, bytes]:
    """POST ``body`` to ``url`` if the operator's settings allow it (see the module's docstring);
    returns the status and at most 64 KiB of the answer. Raises :class:`Refused` when not sent
    (or on a redirect), ``OSError``/``http.client.HTTPException`` when the robot cannot be reached."""
    return request("POST", url, body, headers, timeout=timeout)


def vet(url: str, *, extra_hosts=()) -> list[tuple[int, tuple]]:
    """The checks of :func:`request` without sending: the address of ``url`` is allowed (its host,
    scheme and every address it resolves to), else :class:`Refused`. For the providers' SDKs,
    which make their own connections (docs/identity.md ("Channels that reach a person") says what that leaves open)."""
    if url_problem(url, extra_hosts=extra_hosts) is not None:
        logger.warning("request to %s refused: the host is not allowed (DUBAN_WEBHOOK_ALLOWED_HOSTS,"
                       " DUBAN_WEBHOOK_HTTP_HOSTS)", urlsplit(url).hostname)
        raise refused_address()
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return vetted_addresses(normal_host(parts.hostname), port)


def request(method: str, url: str, body: bytes | None, headers: dict, *, timeout: float,
            extra_hosts=()) -> tuple[int, bytes]:
    """``method`` ``url`` (see :func:`post`): only where the operator allows, to the address vetted,
    never following a redirect. ``extra_hosts``: see :func:`url_problem`."""
    addresses = vet(url, extra_hosts=extra_hosts)
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    host = normal_host(parts.hostname)
    port = parts.port or (443 if https else 80)
    connection = (_PinnedHTTPSConnection if https else _PinnedHTTPConnection)(
        host, port, addresses=addresses, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        if 300 <= response.status < 400:
            logger.warning("webhook to %s answered HTTP %s (a redirect): not followed", host, response.status)
            raise Refused(_("已拒绝：对方要求重定向（HTTP %(status)s），群机器人地址不跟随重定向")
                          % {"status": response.status})
        return response.status, response.read(65536)
    finally:
        connection.close()
