"""The `duban` command: the project's manage.py (`duban migrate_schemas`, `duban county …`)."""

from __future__ import annotations

import atexit
import os
import sys

from django.conf import settings
from django.core.management import execute_from_command_line

from duban.devenv import prepare_environment
from duban.settings import configure
from duban.settings.env import ConfigError


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    use_embedded_services_in_development()
    try:
        configure(os.environ)
        settings.INSTALLED_APPS  # noqa: B018 — load settings now, to report errors cleanly
    except ConfigError as exc:
        sys.stderr.write(f"duban: configuration error: {exc}\n")
        raise SystemExit(2) from None

    execute_from_command_line(argv)


def use_embedded_services_in_development() -> None:
    """In the development profile with no DATABASE_URL, use (and if need be start) the same
    embedded PostgreSQL and file broker as `make demo`, so `duban county create …` just works.
    A server this process started is stopped when it exits."""
    profile = (os.environ.get("DUBAN_ENV") or "development").strip().lower()
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    if profile != "development" or (module and not module.endswith(".development")):
        return
    if os.environ.get("DATABASE_URL") or os.environ.get("DATABASE_URL_FILE"):
        return
    environ, started = prepare_environment("broker")
    os.environ.update({key: environ[key] for key in
                       ("DATABASE_URL", "CELERY_BROKER_URL", "DUBAN_BROKER_DIR", "DUBAN_DATA_DIR")
                       if key in environ})
    if started is not None:
        atexit.register(started.release)


if __name__ == "__main__":
    main()
