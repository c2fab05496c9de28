"""The real client address of a request, the one rule for it.

Behind the ingress every request's ``REMOTE_ADDR`` is the ingress' own address, and the
client's is in ``X-Forwarded-For`` — a header any client can also write. Which entries of it to
believe is ``DUBAN_TRUSTED_PROXIES``:

- ``0`` (the default): no proxy is trusted; ``X-Forwarded-For`` is ignored entirely and the
  client is ``REMOTE_ADDR``;
- a number ``N``: ``N`` proxies stand in front of the app and each appends the address it saw,
  so the client is the ``N``-th address from the right of the chain ``X-Forwarded-For`` +
  ``REMOTE_ADDR`` (whatever the client itself wrote further left is ignored);
- a list of networks: ``REMOTE_ADDR`` must be in one of them (else ``X-Forwarded-For`` is
  ignored), and the client is the first address, walking ``X-Forwarded-For`` from the right,
  that is not in them.

An entry that is not an IP address ends the walk at the last address believed. django-axes
(``AXES_CLIENT_IP_CALLABLE``) and the API's throttles (``api.paging``) both use this.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR") or "127.0.0.1"
    trusted = getattr(settings, "DUBAN_TRUSTED_PROXIES", 0) or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR") or ""
    if not trusted or not forwarded.strip():
        return remote
    chain = [part.strip() for part in forwarded.split(",")]
    if isinstance(trusted, int):
        believed = remote
        # chain[-1] was appended by the nearest proxy (REMOTE_ADDR), chain[-N] by the N-th.
        for entry in reversed(chain[-trusted:]):
            address = _address(entry)
            if address is None:
                break
            believed = str(address)
        return believed
    networks = _networks(tuple(trusted))
    remote_address = _address(remote)
    if remote_address is None or not any(remote_address in n for n in networks):
        return remote
    believed = str(remote_address)
    for entry in reversed(chain):
        address = _address(entry)
        if address is None:
            break
        believed = str(address)
        if not any(address in n for n in networks):
            break
    return believed


def axes_client_ip(request) -> str:
    """``AXES_CLIENT_IP_CALLABLE``: django-axes keys attempts and lockouts on the real client."""
    return client_ip(request)
