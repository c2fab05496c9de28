"""The `duban` command: the project's manage.py (`duban migrate_schemas`, `duban county …`)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    from duban.settings import configure
    from duban.settings.env import ConfigError

    try:
        configure(os.environ)
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 — load settings now, to report errors cleanly
    except ConfigError as exc:
        sys.stderr.write(f"duban: configuration error: {exc}\n")
        raise SystemExit(2) from None

    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
