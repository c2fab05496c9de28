"""`duban import_matters --county SLUG FILE --actor STAFF --proposed-by LEADER`.

Batch entry of matters from an .xlsx file (e.g. the Government Work Report's tasks), proposed on
the leader's behalf and entered in the register book to await that leader's approval. All or
nothing: a file with any bad row imports nothing and the report lists every problem.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from duban.core.commands import CountyCommand, county_by_slug, user_by_username
from duban.core.errors import Invalid, NotAllowed
from duban.core.imports import ImportErrorReport
from duban.core.progress import progress_bar
from duban.matters.imports import import_matters


class Command(CountyCommand):
    help = "Import matters from an .xlsx file on a leader's behalf (all or nothing); they await approval."

    def add_arguments(self, parser):
        self.add_county_argument(parser)
        parser.add_argument("file", help="the .xlsx file: 事项名称 | 事项内容 | 督办类别 | 建议责任单位 | "
                                         "要求完成时间 | 来源 | 时效性强")
        parser.add_argument("--actor", required=True, help="user name of the supervision staff entering them")
        parser.add_argument("--proposed-by", required=True, dest="proposed_by",
                            help="user name of the leader on whose behalf they are proposed")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report; import nothing")
        parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")

    def handle(self, *args, **options):
        county_by_slug(options["county"], writing=True)  # the unit commands' messages: unknown, or not active
        return super().handle(*args, **options)

    def handle_county(self, county, **options):
        actor = user_by_username(options["actor"])
        leader = user_by_username(options["proposed_by"])
        try:
            result = import_matters(options["file"], actor=actor, proposed_by=leader, dry_run=options["dry_run"],
                                    progress=lambda description, total: progress_bar(
                                        description, total, enabled=not options["no_progress"]))
        except ImportErrorReport as report:
            if options["dry_run"]:
                self.import_preview(report.result)
            count = len(report.errors)
            raise CommandError(_("%(report)s\n%(source)s有%(count)d处问题，没有导入任何内容。") % {
                "report": report.format(), "source": report.result.source, "count": count}) from None
        except Invalid as exc:
            raise CommandError(_("%(message)s没有导入任何内容。") % {"message": exc}) from None
        except NotAllowed as exc:
            raise CommandError(_("%(message)s没有导入任何内容。") % {"message": exc}) from None
        if result.dry_run:
            self.import_preview(result)
            self.stdout.write(self.style.SUCCESS(
                ngettext("已检查%(source)s中的 %(count)d 件事项：全部无误（试运行，没有导入任何内容）",
                         "已检查%(source)s中的 %(count)d 件事项：全部无误（试运行，没有导入任何内容）", result.created)
                % {"source": result.source, "count": result.created}))
            return
        numbers = [m.number for m in result.objects]
        span = f"（{numbers[0]} … {numbers[-1]}）" if len(numbers) > 1 else (f"（{numbers[0]}）" if numbers else "")
        self.stdout.write(self.style.SUCCESS(
            ngettext("已向%(county)s（%(slug)s）导入 %(count)d 件事项%(span)s；已登记，等待%(leader)s审批",
                     "已向%(county)s（%(slug)s）导入 %(count)d 件事项%(span)s；已登记，等待%(leader)s审批", result.created)
            % {"county": county.name, "slug": county.slug, "count": result.created, "span": span,
               "leader": leader.display_name}))
