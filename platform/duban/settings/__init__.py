"""Settings profiles. ``DJANGO_SETTINGS_MODULE`` wins; otherwise ``DUBAN_ENV`` picks one."""

import os

from duban.settings.env import ConfigError

PROFILES = ("development", "test", "production")


def select_settings_module(environ=os.environ) -> str:
    """The settings module to use when ``DJANGO_SETTINGS_MODULE`` is not set."""
    profile = (environ.get("DUBAN_ENV") or "development").strip().lower()
    if profile not in PROFILES:
        raise ConfigError("DUBAN_ENV", f"expected one of {', '.join(PROFILES)}, got {profile!r}")
    return f"duban.settings.{profile}"


def configure(environ=os.environ) -> None:
    environ.setdefault("DJANGO_SETTINGS_MODULE", select_settings_module(environ))
