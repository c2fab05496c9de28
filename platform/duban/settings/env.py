"""Strict reading of configuration from environment variables.

Every setting of Duban comes from the environment (12-factor). A value that cannot be parsed
stops start-up with :class:`ConfigError`, whose message names the variable and says what was
expected — never a silent fallback to a default. Secrets may instead be given as ``NAME_FILE``
pointing at a mounted file (Kubernetes secrets, Docker secrets); giving both is an error.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import date as _date
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class ConfigError(ImproperlyConfigured):
    """A configuration variable is missing or malformed; the message names it."""

    def __init__(self, name: str, problem: str):
        self.variable = name
        super().__init__(f"{name}: {problem}")


class Env:
    """Typed accessors over a mapping of environment variables (``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ

    # -- raw access -------------------------------------------------------------------------
    def raw(self, name: str, *, secret: bool = False) -> str | None:
        """The variable's value, or the content of ``NAME_FILE`` for secrets; None if unset.

        An empty value counts as unset, as it does for most twelve-factor tools.
        """
        value = self.environ.get(name)
        file_var = f"{name}_FILE"
        file_path = self.environ.get(file_var) if secret else None
        if value not in (None, "") and file_path:
            raise ConfigError(name, f"set either {name} or {file_var}, not both")
        if file_path:
            path = Path(file_path)
            try:
                content = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(file_var, f"cannot read {file_path!r}: {exc.strerror}") from exc
            if not content:
                raise ConfigError(file_var, f"{file_path!r} is empty")
            return content
        if value is None or value == "":
            return None
        return value

    # -- typed ------------------------------------------------------------------------------
    def str(self, name: str, default: str | None = None, *, secret: bool = False,
            required: bool = False) -> str | None:
        value = self.raw(name, secret=secret)
        if value is None:
            if required:
                hint = f" (or {name}_FILE)" if secret else ""
                raise ConfigError(name, f"is required{hint}")
            return default
        return value

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(name, f"expected a boolean (true/false, 1/0, yes/no, on/off), got {value!r}")

    def int(self, name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ConfigError(name, f"expected an integer, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise ConfigError(name, f"must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ConfigError(name, f"must be at most {maximum}, got {number}")
        return number

    def float(self, name: str, default: float, *, minimum: float | None = None,
              maximum: float | None = None) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value.strip())
        except ValueError:
            raise ConfigError(name, f"expected a number, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise ConfigError(name, f"must be at least {minimum}, got {number}")
        if maximum is not None and number > maximum:
            raise ConfigError(name, f"must be at most {maximum}, got {number}")
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value is None:
            return default
        value = value.strip().lower()
        if value not in choices:
            raise ConfigError(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def url(self, name: str, default: str | None = None, *, schemes: tuple[str, ...],
            secret: bool = False, required: bool = False) -> str | None:
        value = self.str(name, default, secret=secret, required=required)
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 — raises ValueError on a malformed port
        except ValueError as exc:
            raise ConfigError(name, f"not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in schemes:
            raise ConfigError(
                name, f"unsupported scheme {parts.scheme + '://' if parts.scheme else '(none)'};"
                      f" expected one of {', '.join(s + '://' for s in schemes)}")
        return value

    def hostname(self, name: str, default: str) -> str:
        value = self.raw(name)
        if value is None:
            return default
        host = value.strip().lower().rstrip(".")
        labels = host.split(".")
        if not host or len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
            raise ConfigError(name, f"expected a DNS host name such as duban.example.gov.cn, got {value!r}")
        return host

    def date(self, name: str) -> _date | None:
        """An ISO date (``2026-12-31``), or None if unset."""
        value = self.raw(name)
        if value is None:
            return None
        try:
            return _date.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(name, f"expected a date as YYYY-MM-DD, got {value!r}") from None

    def host_names(self, name: str, default: list[str]) -> list[str]:
        """Comma-separated DNS host names or IP addresses, lower-cased; ``.example.gov.cn`` (a
        leading dot) stands for that domain and every name under it."""
        hosts = []
        for item in self.list(name, default):
            host = item.lower().rstrip(".")
            bare = host[1:] if host.startswith(".") else host
            try:
                hosts.append(ipaddress.ip_address(bare.strip("[]")).compressed)
                continue
            except ValueError:
                pass
            try:  # a name in Chinese: its ASCII (IDNA) form, as the webhook's host is compared
                bare = bare.encode("idna").decode("ascii")
            except UnicodeError:
                pass
            labels = bare.split(".")
            if not bare or len(bare) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
                raise ConfigError(name, f"expected host names or IP addresses separated by commas"
                                        f" (such as qyapi.weixin.qq.com or .example.gov.cn), got {item!r}")
            hosts.append("." + bare if host.startswith(".") else bare)
        return hosts

    def networks(self, name: str, default: list[str] | None = None) -> list[str]:
        """Comma-separated IP networks in CIDR notation (``10.20.0.0/16``, ``fd00::/8``; a bare
        address is one host), as normalised strings."""
        networks = []
        for item in self.list(name, default):
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ConfigError(name, f"expected IP networks such as 10.20.0.0/16 separated by commas,"
                                        f" got {item!r}") from None
        return networks

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def trusted_proxies(self, name: str) -> int | list[str]:
        """How many reverse proxies stand in front of the app (``1``), or the networks they
        live in (``10.244.0.0/16, fd00::/8``). Unset: 0, trust no ``X-Forwarded-For`` at all."""
        value = self.raw(name)
        if value is None:
            return 0
        value = value.strip()
        if value.isdigit():
            count = int(value)
            if count > 10:
                raise ConfigError(name, f"must be at most 10 proxies, got {count}")
            return count
        networks = self.networks(name)
        if not networks:
            raise ConfigError(name, f"expected a number of proxies (such as 1) or CIDR networks, got {value!r}")
        return networks


env = Env()
