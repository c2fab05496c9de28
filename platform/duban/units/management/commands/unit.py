"""`duban unit import|list --county SLUG`: a county's responsible units (承办单位)."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from duban.core.commands import CountyCommand, county_by_slug, user_by_username
from duban.core.errors import NotAllowed
from duban.core.imports import ImportErrorReport
from duban.core.progress import progress_bar
from duban.units.imports import import_units
from duban.units.models import Unit


class Command(CountyCommand):
    help = "Import a county's units from an .xlsx file (all or nothing), or list them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import,list}")
        imp = sub.add_parser("import", help="import units from the first sheet of an .xlsx file (all or nothing)")
        self.add_county_argument(imp)
        imp.add_argument("file", help="the .xlsx file: 单位编码 | 单位名称 | 类型(乡镇/部门) | 联系人 | 联系电话")
        imp.add_argument("--actor", default=None,
                         help="user name of the county admin doing the import (default: recorded as 'cli')")
        imp.add_argument("--dry-run", action="store_true", help="check the file and report; import nothing")
        imp.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
        lst = sub.add_parser("list", help="list the county's units")
        self.add_county_argument(lst)

    def handle(self, *args, **options):
        county_by_slug(options["county"], writing=options["action"] == "import")  # this command's own messages
        return super().handle(*args, **options)

    def handle_county(self, county, **options):
        return getattr(self, f"do_{options['action']}")(county, options)

    def do_import(self, county, options):
        actor = user_by_username(options["actor"]) if options["actor"] else "cli"
        try:
            result = import_units(options["file"], actor=actor, dry_run=options["dry_run"],
                                  progress=lambda description, total: progress_bar(
                                      description, total, enabled=not options["no_progress"]))
        except ImportErrorReport as report:
            if options["dry_run"]:
                self.import_preview(report.result)
            count = len(report.errors)
            raise CommandError(_("%(report)s\n%(source)s有%(count)d处问题，没有导入任何内容。") % {
                "report": report.format(), "source": report.result.source, "count": count}) from None
        except NotAllowed as exc:
            raise CommandError(_("%(message)s没有导入任何内容。") % {"message": exc}) from None
        if result.dry_run:
            self.import_preview(result)
            self.stdout.write(self.style.SUCCESS(
                ngettext("已检查%(source)s中的 %(count)d 个单位：全部无误（试运行，没有导入任何内容）",
                         "已检查%(source)s中的 %(count)d 个单位：全部无误（试运行，没有导入任何内容）", result.created)
                % {"source": result.source, "count": result.created}))
        else:
            self.stdout.write(self.style.SUCCESS(ngettext("已向%(county)s（%(slug)s）导入 %(count)d 个单位",
                                                          "已向%(county)s（%(slug)s）导入 %(count)d 个单位", result.created)
                                                 % {"county": county.name, "slug": county.slug, "count": result.created}))

    def do_list(self, county, options):
        units = list(Unit.objects.order_by("kind", "code"))
        table = Table(_("代码"), _("名称"), _("类别"), _("联系人"), _("电话"), _("启用"),
                      title=ngettext("%(county)s（%(slug)s）：共 %(count)d 个单位",
                                     "%(county)s（%(slug)s）：共 %(count)d 个单位", len(units))
                      % {"county": county.name, "slug": county.slug, "count": len(units)})
        for unit in units:
            table.add_row(unit.code, unit.name, str(unit.get_kind_display()), unit.contact_person,
                          unit.contact_phone, _("是") if unit.is_active else _("否"))
        Console(file=self.stdout, width=160).print(table)  # 160 columns, as it always was
