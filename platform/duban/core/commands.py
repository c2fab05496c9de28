"""What the management commands share: an action's errors as clear CLI messages, the year
option, and the base of every command that works inside one county."""

from __future__ import annotations

import argparse
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tenants.utils import tenant_context
from rich.console import Console
from rich.table import Table
from rich.text import Text

from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from tenants.models import County


@contextmanager
def action_errors():
    """Turn the action functions' errors into ``CommandError`` naming the problem: bad input
    (``field: message``), a role that may not, a stale version, something missing."""
    try:
        yield
    except Invalid as exc:
        raise CommandError(str(exc)) from None
    except NotAllowed as exc:
        raise CommandError(_("无权操作：%(message)s") % {"message": exc}) from None
    except (Conflict, NotFound) as exc:
        raise CommandError(str(exc)) from None


# The assessment years every entry point accepts: the API's ``year`` fields and filters, the web
# pages' ``?year=`` and the CLI's ``--year`` use these bounds, so they refuse the same values.
YEAR_MIN, YEAR_MAX = 2000, 2100


def year_option(value: str) -> int:
    """argparse ``type`` for ``--year``: a year in [YEAR_MIN, YEAR_MAX], as the API's ``year`` field."""
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"year: {value!r} is not a year") from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise argparse.ArgumentTypeError(f"year: must be between {YEAR_MIN} and {YEAR_MAX}, got {year}")
    return year


def county_by_slug(slug: str, *, writing: bool = False) -> County:
    """The county, or this family of commands' own message (writing: only to an active county)."""
    county = County.objects.filter(slug=slug).first()
    if county is None:
        raise CommandError(_("没有代码为“%(slug)s”的县（见 duban county list）。") % {"slug": slug})
    if writing and county.status != County.Status.ACTIVE:
        raise CommandError(_("县“%(slug)s”%(status)s，请先恢复。") % {"slug": slug, "status": county.get_status_display()})
    return county


def user_by_username(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(_("本县没有用户名为“%(username)s”的用户。") % {"username": username})
    return user


class CountyCommand(BaseCommand):
    """A command that works inside one county: ``--county SLUG`` (on the command or on each of
    its subcommands, through :meth:`add_county_argument`), the county looked up with a message
    naming the slug when there is none, the work run in the county's schema with the actions'
    errors turned into CLI messages, and one console for what it prints.

    Subclasses implement :meth:`handle_county`."""

    #: rich console width; tables of matters and steps are wide
    console_width = 200

    @staticmethod
    def add_county_argument(parser, *, required: bool = True) -> None:
        parser.add_argument("--county", required=required, help="the county's slug")

    def handle(self, *args, **options):
        self.console = Console(file=self.stdout, width=self.console_width, highlight=False, soft_wrap=True)
        slug = options.get("county")
        options = {key: value for key, value in options.items() if key != "county"}  # given as the County
        if slug is None:
            self.county = None
            with action_errors():
                return self.handle_county(None, **options)
        county = County.objects.filter(slug=slug).first()
        if county is None:
            raise CommandError(_("没有代码为“%(slug)s”的县。") % {"slug": slug})
        self.county = county
        with tenant_context(county), action_errors():
            return self.handle_county(county, **options)

    def handle_county(self, county, **options):
        raise NotImplementedError

    def out(self, text: str = "") -> None:
        """Print one line as it is (no rich markup: county data may contain brackets)."""
        self.console.print(Text(text))

    def import_preview(self, result) -> None:
        """The row-by-row preview of an import (``duban.core.imports.ImportResult.preview``): the
        table the web's import page shows — row number, the cells as read, the row's problems."""
        for error in result.file_errors():
            self.out(error.format())
        if not result.rows:
            return
        title = ngettext("%(source)s：%(n)d 行", "%(source)s：%(n)d 行", len(result.rows)) % {
            "source": result.source, "n": len(result.rows)}
        table = Table(_("行"), *result.columns, _("问题"), title=Text(title))
        for row in result.preview():
            problems = "；".join(_("【%(column)s】%(message)s") % {"column": e.column, "message": e.message}
                                if e.column else e.message for e in row.errors)
            table.add_row(str(row.number), *(Text(row.values.get(c, "")) for c in result.columns),
                          Text(problems or _("可以导入")))
        self.console.print(table)
