"""`duban report … --county SLUG`: the weekly 督查专报 and the annual assessment table.

    report weekly draft  --county dongshan [--on 2026-11-27]
    report weekly show   --county dongshan [ID] [--out FILE.pdf]
    report weekly edit   --county dongshan [ID] [--actor staff] [--summary …] [--attention …] [--units T01 D03 …]
    report weekly submit --county dongshan [ID] [--actor staff]
    report weekly return --county dongshan [ID] --actor office --reason …
    report weekly issue  --county dongshan [ID] --actor office [--out FILE.pdf]
    report annual        --county dongshan --year 2026 [--actor staff] [--out DIR]
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from rich.table import Table
from rich.text import Text

from duban.accounts.models import Role, User
from duban.core.commands import CountyCommand, year_option
from duban.documents import service
from duban.documents.service import verification_url
from duban.reports.actions import (
    do_draft_weekly_report,
    do_edit_weekly_report,
    do_issue_weekly_report,
    do_return_weekly_report,
    do_submit_weekly_report,
)
from duban.reports.annual import annual_assessment
from duban.reports.documents import annual_assessment_document, leader_names, weekly_report_content
from duban.reports.models import WeeklyReport
from duban.reports.weekly import draft_weekly_report


def T(value) -> Text:  # table cells as plain text (no rich markup from data)
    return Text("" if value is None else str(value))


def _on(value: str | None):
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("--on：“%(value)s”不是有效的日期或时间（格式：2026-12-01 或 2026-12-01T17:00）。")
            % {"value": value}) from None


class Command(CountyCommand):
    help = "Reports of a county: the weekly 督查专报 (draft, show, edit, issue) and the annual assessment table."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="report", required=True, metavar="{weekly,annual}")
        weekly = sub.add_parser("weekly", help="the weekly 督查专报")
        wsub = weekly.add_subparsers(dest="action", required=True, metavar="{draft,show,edit,submit,return,issue}")

        def command(name, help_text, parent=wsub):
            p = parent.add_parser(name, help=help_text)
            self.add_county_argument(p)
            return p

        p = command("draft", "draft the week's report if the pack's weekly time has passed (once per week); with "
                    "--actor, now, on any day, as supervision staff do on the web")
        p.add_argument("--on", help="as of this date (end of day) or date-time; default now")
        p.add_argument("--actor", help="username of supervision staff drafting it now (the web's 起草 button; audited "
                                       "under them)")
        p = command("show", "a report's sections and text (default: the latest)")
        p.add_argument("report", type=int, nargs="?")
        p.add_argument("--out", help="write its PDF here (a preview, for a draft)")
        p = command("edit", "edit a draft's summary, attention notes or named units")
        p.add_argument("report", type=int, nargs="?")
        p.add_argument("--actor", help="username of supervision staff (default: the first)")
        p.add_argument("--summary")
        p.add_argument("--attention")
        p.add_argument("--units", nargs="*", metavar="UNIT", help="the units the report names (replaces the list)")
        p.add_argument("--note", default="")
        p = command("submit", "submit a draft for the office leader's review")
        p.add_argument("report", type=int, nargs="?")
        p.add_argument("--actor", help="username of supervision staff (default: the first)")
        p = command("return", "return a submitted report to staff, with the reason (office leader)")
        p.add_argument("report", type=int, nargs="?")
        p.add_argument("--actor", required=True, help="username of the office leader")
        p.add_argument("--reason", required=True)
        p = command("issue", "issue a submitted report after review: number it, print its PDF, notify (office leader)")
        p.add_argument("report", type=int, nargs="?")
        p.add_argument("--actor", required=True, help="username of the office leader")
        p.add_argument("--out", help="also write the issued PDF here")
        p = command("annual", "the annual assessment table (年度考评) as PDF and Excel", sub)
        p.add_argument("--year", type=year_option, required=True)
        p.add_argument("--actor", help="username printing it (default: the first supervision staff)")
        p.add_argument("--out", help="folder to write annual_assessment-<year>.pdf/.xlsx to")

    def handle_county(self, county, /, **options):
        action = "annual" if options["report"] == "annual" else f"weekly_{options['action']}"
        getattr(self, f"do_{action}")(options)

    def _actor(self, username: str | None) -> User:
        if username:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(_("--actor：%(county)s没有用户名为“%(username)s”的在职用户。")
                    % {"county": self.county.name, "username": username})
            return user
        user = User.objects.filter(role=Role.SUPERVISION_STAFF, is_active=True).order_by("id").first()
        if user is None:
            raise CommandError(_("%(county)s没有在职的督查督办人员，请用 --actor 指定。") % {"county": self.county.name})
        return user

    def _report(self, report_id: int | None, *, draft: bool = False, status: str | None = None):
        reports = WeeklyReport.objects.all()
        status = status or (WeeklyReport.Status.DRAFT if draft else None)
        if status and report_id is None:
            reports = reports.filter(status=status)
        report = reports.filter(pk=report_id).first() if report_id is not None else reports.first()
        if report is None:
            raise CommandError(_("%(county)s没有这一期《督查专报》（起草：duban report weekly draft --county %(slug)s）。")
                               % {"county": self.county.name, "slug": self.county.slug})
        return report

    # -- weekly ---------------------------------------------------------------------------------
    def do_weekly_draft(self, options):
        if options.get("actor"):
            if options.get("on"):
                raise CommandError(_("--actor 与 --on 不能同时使用：以人员名义起草的是本周的周报。"))
            result = do_draft_weekly_report(actor=self._actor(options["actor"]))
        else:
            result = draft_weekly_report(_on(options.get("on")), actor="cli")
        due = timezone.localtime(result.due_at, result.due_at.tzinfo)
        if result.report is None:
            self.out(_("暂不起草：按本县规则包的周报时间，本周周报在 %(due)s（%(zone)s）之后起草")
                     % {"due": f"{due:%Y-%m-%d %H:%M}", "zone": due.tzinfo})
            return
        report = result.report
        verb = _("已起草") if result.created else _("此前已起草")
        self.out(_("%(verb)s：周报 #%(id)d，%(start)s 至 %(end)s（%(status)s%(number)s）")
                 % {"verb": verb, "id": report.pk, "start": report.period_start, "end": report.period_end,
                    "status": report.get_status_display(), "number": "，" + report.number if report.number else ""})
        self._sections(report)

    def do_weekly_show(self, options):
        report = self._report(options.get("report"))
        self.out(_("周报 #%(id)d %(number)s — %(status)s，%(start)s 至 %(end)s，第 %(version)d 版")
                 % {"id": report.pk, "number": report.number or _("（草稿）"), "status": report.get_status_display(),
                    "start": report.period_start, "end": report.period_end, "version": report.version})
        self._sections(report)
        self.out(_("总体情况："))
        self.out(report.summary or "—")
        self.out(_("需要关注："))
        self.out(report.attention or "—")
        self.out(_("点名单位：%(units)s") % {
            "units": "、".join(report.named_units.order_by("code").values_list("code", flat=True)) or "—"})
        self.out(_("修改记录：%(count)d 条") % {"count": report.revisions.count()})
        if options.get("out"):
            self._write_pdf(report, Path(options["out"]))

    def do_weekly_edit(self, options):
        report = self._report(options.get("report"), draft=True)
        report = do_edit_weekly_report(report.pk, actor=self._actor(options.get("actor")), summary=options["summary"],
                                       attention=options["attention"], named_units=options["units"],
                                       note=options["note"])
        self.out(_("周报 #%(id)d：已保存第 %(version)d 版（保留修改记录 %(count)d 条）")
                 % {"id": report.pk, "version": report.version, "count": report.revisions.count()})

    def do_weekly_submit(self, options):
        report = self._report(options.get("report"), draft=True)
        report = do_submit_weekly_report(report.pk, actor=self._actor(options.get("actor")))
        self.out(_("周报 #%(id)d 已提交审核，已通知办公室领导") % {"id": report.pk})

    def do_weekly_return(self, options):
        report = self._report(options.get("report"), status="submitted")
        report = do_return_weekly_report(report.pk, actor=self._actor(options["actor"]), reason=options["reason"])
        self.out(_("周报 #%(id)d 已退回经办人：%(reason)s") % {"id": report.pk, "reason": options["reason"]})

    def do_weekly_issue(self, options):
        report = self._report(options.get("report"), status="submitted")
        report = do_issue_weekly_report(report.pk, actor=self._actor(options.get("actor")))
        document = report.documents.first()
        self.out(_("周报 #%(id)d 已于 %(on)s 印发，文号 %(number)s；核验码 %(code)s %(url)s")
                 % {"id": report.pk, "on": report.issued_on, "number": report.number,
                    "code": document.display_code, "url": verification_url(document.code)})
        self.out(_("已通知点名单位 %(count)d 个及领导") % {"count": report.named_units.count()})
        if options.get("out"):
            self._write_pdf(report, Path(options["out"]))

    def _write_pdf(self, report, path: Path):
        document = report.documents.first()
        if document is not None:
            data = service.pdf_bytes(document)
        else:
            data = service.preview_pdf(weekly_report_content(report, leaders=leader_names()))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.out(_("已写入 %(path)s") % {"path": path}
                 + ("" if document else _("（草稿预览：没有文号，也没有核验码）")))

    def _sections(self, report):
        s = report.sections
        t = s.get("totals", {})
        self.out(_("新增 %(new)d 件，办结 %(closed)d 件（按时 %(on_time)d 件），在办 %(under_way)d 件，逾期 %(overdue)d 件，"
                   "红灯 %(red)d 件，督办措施 %(steps)d 项，需关注 %(attention)d 项")
                 % {"new": t.get("new", 0), "closed": t.get("closed", 0), "on_time": t.get("closed_on_time", 0),
                    "under_way": t.get("under_way", 0), "overdue": t.get("overdue", 0), "red": t.get("red", 0),
                    "steps": t.get("steps", 0), "attention": len(s.get("attention", []))})
        for key, label in (("new", _("新增")), ("closed", _("办结")), ("overdue", _("逾期")), ("red", _("红灯"))):
            rows = s.get(key, [])
            if rows:
                table = Table(_("事项"), _("标题"), _("承办单位"), _("期限"), title=label)
                for row in rows:
                    table.add_row(T(row["number"]), T(row["title"]), T(row["unit"]), T(row["deadline"]))
                self.console.print(table)
        if s.get("steps"):
            table = Table(_("日期"), _("事项"), _("承办单位"), _("督办方式"), _("通知"), title=_("督办措施"))
            for row in s["steps"]:
                table.add_row(T(row["on"]), T(row["number"]), T(row["unit"]), T(row["tier"]), T(row["notice"] or "—"))
            self.console.print(table)
        for item in s.get("attention", []):
            self.out(f"  ! {item['text']}")

    # -- annual ---------------------------------------------------------------------------------
    def do_annual(self, options):
        year = options["year"]
        data = annual_assessment(year)
        table = Table(_("单位代码"), _("单位名称"), _("基础分"), *(c.label for c in data.columns), _("扣分"), _("得分"),
                      title=f"{year} ({data.pack_key})")
        for row in data.rows:
            table.add_row(T(row.unit_code), T(row.unit_name), T(data.base),
                          *(T(row.deductions.get(c.code, 0)) for c in data.columns), T(row.total), T(f"{row.score:.2f}"))
        self.console.print(table)
        if options.get("out"):
            document = annual_assessment_document(year, actor=self._actor(options.get("actor")))
            out = Path(options["out"])
            out.mkdir(parents=True, exist_ok=True)
            pdf, xlsx = out / f"annual_assessment-{year}.pdf", out / f"annual_assessment-{year}.xlsx"
            pdf.write_bytes(service.pdf_bytes(document))
            xlsx.write_bytes(service.xlsx_bytes(document))
            self.out(_("已写入 %(pdf)s 和 %(xlsx)s（核验码 %(code)s）")
                     % {"pdf": pdf, "xlsx": xlsx, "code": document.display_code})
