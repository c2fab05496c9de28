"""`duban supervision … --county SLUG`: scores, statements, reversals, lights, what-if rescoring,
circulars and the quarterly inspection, from the command line.

    supervision scores     --county alpha --year 2026
    supervision statement  --county alpha D01 --year 2026
    supervision reverse    --county alpha 17 --actor office --reason "误记"
    supervision lights     --county alpha [--on 2026-11-25]
    supervision rescore    --county alpha --year 2026 --pack county_strict[==2.1.0]
    supervision circular draft   --county alpha --actor staff --title … --from 2026-10-01 --to 2026-12-31
    supervision circular lists   --county alpha 3 --actor staff --praise T01 --criticise D01 [--body …]
    supervision circular publish --county alpha 3 --actor office
    supervision circular show    --county alpha [3]
    supervision inspection open   --county alpha [--on 2026-12-20]
    supervision inspection show   --county alpha [--year 2026 --quarter 4]
    supervision inspection record --county alpha 12 --actor staff --result behind [--findings …]
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils.translation import gettext as _
from rich.table import Table
from rich.text import Text

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.commands import CountyCommand, year_option
from duban.core.county import county_pack
from duban.supervision import ledger
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_inspection,
    do_reverse_entry,
    do_set_circular_lists,
)
from duban.supervision.inspection import open_inspection_if_due, window_for
from duban.supervision.models import Circular, EscalationStep, InspectionRound, LedgerEntry
from duban.supervision.rescoring import rescore
from duban.supervision.steps import GREEN, RED, YELLOW, lights
from duban.units.models import Unit
from plugins.manager import PackUnavailable, get_registry


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("%(option)s：“%(value)s”不是有效的日期（格式：2026-12-01）。")
            % {"option": option, "value": value}) from None


def _amount(value) -> str:
    return f"{Decimal(value or 0):.2f}".rstrip("0").rstrip(".") if value else "0"


def _score(value: Decimal) -> str:
    return f"{value:.2f}"


def _rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def T(value) -> Text:  # table cells as plain text (no rich markup from data)
    return Text("" if value is None else str(value))


class Command(CountyCommand):
    help = "Supervision of a county: scores, statements, reversals, lights, rescoring, circulars, inspection."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True,
                                    metavar="{scores,statement,reverse,lights,rescore,circular,inspection}")

        def command(name, help_text, parent=sub):
            p = parent.add_parser(name, help=help_text)
            self.add_county_argument(p)
            return p

        p = command("scores", "every unit's deductions by type and score for a year")
        p.add_argument("--year", type=year_option, required=True)
        p = command("statement", "every ledger entry behind a unit's score")
        p.add_argument("unit", help="the unit's code")
        p.add_argument("--year", type=year_option, required=True)
        p = command("reverse", "reverse a wrong ledger entry (the office leader, with a reason)")
        p.add_argument("entry", type=int, help="the ledger entry's id")
        p.add_argument("--actor", required=True, help="username of the office leader")
        p.add_argument("--reason", required=True)
        p.add_argument("--kind", help="the kind of correction (the pack's schedule.reversal_kinds; default: the first, "
                                      "recorded_in_error = 系误记, which also withdraws the step)")
        p = command("lights", "red / yellow / green counts and the red matters")
        p.add_argument("--on", help="as of this date (YYYY-MM-DD; default today)")
        p = command("rescore", "the year's scores under another rule pack, side by side (writes nothing)")
        p.add_argument("--year", type=year_option, required=True)
        p.add_argument("--pack", required=True, help="an installed pack: NAME or NAME==VERSION")

        circular = sub.add_parser("circular", help="circulars (通报): draft, lists, publish, show")
        csub = circular.add_subparsers(dest="circular_action", required=True, metavar="{draft,lists,publish,show}")
        p = command("draft", "draft a circular with the units' ranking over a period", csub)
        p.add_argument("--actor", required=True, help="username of supervision staff")
        p.add_argument("--title", required=True)
        p.add_argument("--from", dest="period_start", required=True, help="YYYY-MM-DD")
        p.add_argument("--to", dest="period_end", required=True, help="YYYY-MM-DD")
        p = command("lists", "name the units praised and criticised", csub)
        p.add_argument("circular", type=int)
        p.add_argument("--actor", required=True, help="username of supervision staff")
        p.add_argument("--praise", nargs="*", default=[], metavar="UNIT")
        p.add_argument("--criticise", nargs="*", default=[], metavar="UNIT",
                       help="criticised county-wide (全县通报批评: deducts under the pack)")
        p.add_argument("--name", dest="named", nargs="*", default=[], metavar="UNIT",
                       help="criticised by name (点名批评: no deduction under the default pack)")
        p.add_argument("--body", default="")
        p = command("publish", "publish a reviewed circular (the office leader)", csub)
        p.add_argument("circular", type=int)
        p.add_argument("--actor", required=True, help="username of the office leader")
        p = command("show", "one circular with its ranking, or the list of circulars", csub)
        p.add_argument("circular", type=int, nargs="?")

        inspection = sub.add_parser("inspection", help="the quarterly inspection window: open, show, record")
        isub = inspection.add_subparsers(dest="inspection_action", required=True, metavar="{open,show,record}")
        p = command("open", "open the quarter's round if its window has begun", isub)
        p.add_argument("--on", help="as of this date (YYYY-MM-DD; default today)")
        p = command("show", "a round's checklist (default: the latest round)", isub)
        p.add_argument("--year", type=year_option)
        p.add_argument("--quarter", type=int, choices=[1, 2, 3, 4])
        p = command("record", "record what the inspection found for one item", isub)
        p.add_argument("item", type=int)
        p.add_argument("--actor", required=True, help="username of supervision staff")
        p.add_argument("--result", required=True, choices=["on_track", "behind", "done"])
        p.add_argument("--findings", default="")

    def handle_county(self, county, /, **options):
        action = options["action"]
        if action == "circular":
            action = f"circular_{options['circular_action']}"
        elif action == "inspection":
            action = f"inspection_{options['inspection_action']}"
        getattr(self, f"do_{action}")(options)

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _user(username: str) -> User:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("--actor：本县没有用户名为“%(username)s”的在职用户。") % {"username": username})
        return user

    @staticmethod
    def _unit(code: str):
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            raise CommandError(_("本县没有编码为“%(code)s”的单位。") % {"code": code})
        return unit

    # -- scores and statements ----------------------------------------------------------------
    def do_scores(self, options):
        year, pack = options["year"], county_pack()
        events = [rule.code for rule in pack.schedule.events]
        totals = defaultdict(lambda: defaultdict(Decimal))
        for unit_id, code, amount in (LedgerEntry.objects.filter(year=year).values_list("unit_id", "event_code")
                                      .annotate(total=Sum("amount")).values_list("unit_id", "event_code", "total")):
            totals[unit_id][code] += amount
            if code not in events:
                events.append(code)
        self.out(_("%(year)d 年得分，规则包 %(pack)s（基础分 %(base)s，最低分 %(floor)s）；按扣分事项列出，已扣除冲正")
                 % {"year": year, "pack": pack.key, "base": pack.schedule.base, "floor": pack.schedule.floor})
        table = Table(_("单位代码"), _("单位名称"), *events, _("扣分"), _("得分"))
        for unit, value in ledger.unit_scores(year).items():
            mine = totals.get(unit.pk, {})
            table.add_row(T(unit.code), T(unit.name), *(T(_amount(mine.get(code))) for code in events),
                          T(_amount(sum(mine.values(), Decimal(0)))), T(_score(value)))
        self.console.print(table)

    def do_statement(self, options):
        unit, year = self._unit(options["unit"]), options["year"]
        base, lines, final = ledger.statement(unit, year)
        self.out(_("%(code)s %(name)s — %(year)d 年：基础分 %(base)s，台账记录 %(count)d 条")
                 % {"code": unit.code, "name": unit.name, "year": year, "base": base, "count": len(lines)})
        table = Table(_("记录"), _("日期"), _("事项"), _("督办方式"), _("规则"), _("分值"), _("累计扣分"), _("得分"),
                      _("事由"), _("依据"))
        for line in lines:
            e = line.entry
            reason = e.reason + (_("（冲正记录 #%(id)d）") % {"id": e.reverses_id} if e.reverses_id else "")
            table.add_row(T(e.pk), T(e.occurred_on), T(e.matter.number if e.matter else "—"),
                          T(e.step.tier if e.step else "—"), T(f"{e.pack_name}=={e.pack_version}:{e.rule_code}"),
                          T(f"{e.amount:+.2f}"), T(f"{line.total_deducted:.2f}"), T(_score(line.score)), T(reason),
                          T(e.ref))
        self.console.print(table)
        self.out(_("%(year)d 年得分：%(score)s") % {"year": year, "score": _score(final)})

    def do_reverse(self, options):

        actor = self._user(options["actor"])
        reversal = do_reverse_entry(options["entry"], actor=actor, reason=options["reason"],
                                           kind=options.get("kind"))
        self.out(_("已用记录 #%(new)d 冲正记录 #%(old)d：%(unit)s（%(year)d 年）%(amount)s 分；理由：%(reason)s")
                 % {"new": reversal.pk, "old": reversal.reverses_id, "amount": f"{reversal.amount:+.2f}",
                    "unit": reversal.unit.code, "year": reversal.year, "reason": options["reason"].strip()})

    # -- lights ---------------------------------------------------------------------------------
    def do_lights(self, options):
        on = _date(options["on"], "--on") or clock.today()
        board = lights(on)
        self.out(_("%(on)s 亮灯情况：红灯 %(red)d 件，黄灯 %(yellow)d 件，绿灯 %(green)d 件")
                 % {"on": on, "red": len(board[RED]), "yellow": len(board[YELLOW]), "green": len(board[GREEN])})
        if board[RED]:
            self.out(_("红灯事项："))
            table = Table(_("事项"), _("标题"), _("牵头单位"), _("状态"), _("期限"), _("逾期天数"))
            for m in board[RED]:
                lead = m.lead_unit
                table.add_row(T(m.number), T(m.title), T(lead.code if lead else "—"), T(m.get_state_display()),
                              T(m.deadline), T(max((on - m.deadline).days, 0) if m.deadline else "—"))
            self.console.print(table)

    # -- rescoring ------------------------------------------------------------------------------
    def do_rescore(self, options):
        name, _sep, version = options["pack"].partition("==")
        try:
            other = get_registry().pack(name, version or None)
        except PackUnavailable as exc:
            raise CommandError(_("--pack 参数有误：%(error)s") % {"error": exc}) from None
        own = county_pack()
        rows = rescore(options["year"], other)
        self.out(_("%(year)d 年：本县规则包 %(own)s 与 %(other)s 对比 — 仅作测算，不写入任何数据")
                 % {"year": options["year"], "own": own.key, "other": other.key})
        table = Table(_("单位代码"), _("单位名称"), own.key, other.key, _("差额"))
        for row in rows:
            table.add_row(T(row.code), T(row.name), T(_score(row.own)), T(_score(row.other)),
                          T(f"{row.difference:+.2f}"))
        self.console.print(table)
        changed = sum(1 for row in rows if row.difference)
        self.out(_("按 %(other)s 计算，%(total)d 个单位中有 %(changed)d 个得分会不同")
                 % {"other": other.key, "total": len(rows), "changed": changed})

    # -- circulars ------------------------------------------------------------------------------
    def do_circular_draft(self, options):
        circular = do_draft_circular(actor=self._user(options["actor"]), title=options["title"],
                                     period_start=_date(options["period_start"], "--from"),
                                     period_end=_date(options["period_end"], "--to"))
        self.out(_("已起草通报 #%(id)d %(title)s（%(start)s 至 %(end)s）")
                 % {"id": circular.pk, "title": circular.title, "start": circular.period_start,
                    "end": circular.period_end})
        self._ranking(circular)

    def do_circular_lists(self, options):
        circular = do_set_circular_lists(options["circular"], actor=self._user(options["actor"]),
                                         praised=options["praise"], criticised=options["criticise"],
                                         named=options["named"], body=options["body"])
        self.out(_("通报 #%(id)d：表扬 %(praised)s；批评 %(criticised)s")
                 % {"id": circular.pk, "praised": "、".join(options["praise"]) or "—",
                    "criticised": "、".join(options["criticise"]) or "—"}
                 + (_("；点名 %(named)s") % {"named": "、".join(options["named"])} if options["named"] else ""))

    def do_circular_publish(self, options):
        circular = do_publish_circular(options["circular"], actor=self._user(options["actor"]))
        self.out(_("通报 #%(id)d 已于 %(on)s 发布，文号 %(number)s")
                 % {"id": circular.pk, "number": circular.notice.number, "on": circular.published_on})
        for entry in circular.ledger.select_related("unit").order_by("unit__code"):
            self.out(_("  台账记录 #%(id)d：%(code)s %(name)s −%(amount)s（%(rule)s，%(year)d 年）")
                     % {"id": entry.pk, "code": entry.unit.code, "name": entry.unit.name, "amount": entry.amount,
                        "rule": f"{entry.pack_name}=={entry.pack_version}:{entry.rule_code}", "year": entry.year})

    def do_circular_show(self, options):
        if options["circular"] is None:
            table = Table("id", _("标题"), _("期间"), _("状态"), _("文号"), _("表扬"), _("批评"))
            for c in Circular.objects.prefetch_related("praised", "criticised").select_related("notice"):
                table.add_row(T(c.pk), T(c.title), T(f"{c.period_start}..{c.period_end}"), T(c.get_status_display()),
                              T(c.notice.number if c.notice else "—"),
                              T(", ".join(sorted(u.code for u in c.praised.all())) or "—"),
                              T(", ".join(sorted(u.code for u in c.criticised.all())) or "—"))
            self.console.print(table)
            return
        circular = Circular.objects.filter(pk=options["circular"]).select_related("notice").first()
        if circular is None:
            raise CommandError(_("本县没有这份通报。"))
        self.out(_("通报 #%(id)d %(title)s — %(status)s")
                 % {"id": circular.pk, "title": circular.title, "status": circular.get_status_display()}
                 + (_("，文号 %(number)s，%(on)s 发布") % {"number": circular.notice.number, "on": circular.published_on}
                    if circular.notice else ""))
        self.out(_("期间：%(start)s 至 %(end)s") % {"start": circular.period_start, "end": circular.period_end})
        self.out(_("表扬：%(codes)s") % {"codes": "、".join(sorted(circular.praised.values_list("code", flat=True))) or "—"})
        self.out(_("批评：%(codes)s")
                 % {"codes": "、".join(sorted(circular.criticised.values_list("code", flat=True))) or "—"})
        self.out(_("点名：%(codes)s") % {"codes": "、".join(sorted(circular.named.values_list("code", flat=True))) or "—"})
        if circular.body:
            self.out(circular.body)
        self._ranking(circular)

    def _ranking(self, circular):
        self.out(_("排名（从好到差）："))
        table = Table(_("名次"), _("单位代码"), _("单位名称"), _("交办"), _("办结"), _("按时办结"), _("按时率"), _("逾期"),
                      _("督办措施"), _("返工"))
        for row in circular.ranking:
            steps = ", ".join(f"{tier}×{n}" for tier, n in row["steps"].items()) or "—"
            table.add_row(T(row["rank"]), T(row["unit"]), T(row["name"]), T(row["assigned"]), T(row["completed"]),
                          T(row["on_time"]), T(_rate(row["on_time_rate"])), T(row["overdue"]), T(steps),
                          T(row["redos"]))
        self.console.print(table)

    # -- inspection -----------------------------------------------------------------------------
    def do_inspection_open(self, options):
        on = _date(options["on"], "--on") or clock.today()
        round_ = open_inspection_if_due(on=on, actor="cli")
        opens_on, closes_on, year, quarter = window_for(on, county_pack())
        if round_ is None:
            if opens_on <= on <= closes_on:
                self.out(_("%(on)s 未开启检查：%(year)d 年第 %(quarter)d 季度检查（%(opens)s 至 %(closes)s）已在进行中")
                         % {"on": on, "year": year, "quarter": quarter, "opens": opens_on, "closes": closes_on})
            else:
                self.out(_("%(on)s 未开启检查：%(year)d 年第 %(quarter)d 季度检查期（%(opens)s 至 %(closes)s）尚未开始")
                         % {"on": on, "year": year, "quarter": quarter, "opens": opens_on, "closes": closes_on})
            return
        self.out(_("已开启 %(year)d 年第 %(quarter)d 季度督查检查（%(opens)s 至 %(closes)s），共 %(count)d 项")
                 % {"year": year, "quarter": quarter, "opens": opens_on, "closes": closes_on,
                    "count": round_.items.count()})

    def do_inspection_show(self, options):
        rounds = InspectionRound.objects.all()
        if options["year"]:
            rounds = rounds.filter(year=options["year"])
        if options["quarter"]:
            rounds = rounds.filter(quarter=options["quarter"])
        round_ = rounds.first()
        if round_ is None:
            raise CommandError(_("该季度没有督查检查。") if options["year"] or options["quarter"]
                               else _("本县还没有开展督查检查。"))
        self.out(_("%(year)d 年第 %(quarter)d 季度督查检查，%(opens)s 至 %(closes)s")
                 % {"year": round_.year, "quarter": round_.quarter, "opens": round_.opens_on, "closes": round_.closes_on})
        table = Table(_("检查项"), _("单位代码"), _("事项"), _("标题"), _("状态"), _("期限"), _("结果"), _("发现的问题"))
        for item in round_.items.select_related("unit", "matter"):
            table.add_row(T(item.pk), T(item.unit.code), T(item.matter.number), T(item.matter.title),
                          T(item.matter.get_state_display()), T(item.matter.deadline), T(item.result),
                          T(item.findings))
        self.console.print(table)

    def do_inspection_record(self, options):
        item = do_record_inspection(options["item"], actor=self._user(options["actor"]), result=options["result"],
                                    findings=options["findings"])
        self.out(_("检查项 #%(id)d %(number)s %(unit)s：%(result)s（%(code)s）")
                 % {"id": item.pk, "number": item.matter.number, "unit": item.unit.code,
                    "result": item.get_result_display(), "code": item.result})
        if item.result == "behind":
            event = (AuditEvent.objects.filter(action="inspection.record", object_type="supervision.inspectionitem",
                                               object_id=str(item.pk)).order_by("-id").first())
            step = EscalationStep.objects.filter(pk=(event.after or {}).get("step")).first() if event else None
            if step is not None:
                self.out(_("  已列入督办：%(tier)s（督办措施 #%(id)d，待经办人办理）") % {"tier": step.tier, "id": step.pk})
            else:
                self.out(_("  未列入督办：已有到期的督办措施、督办方式已用尽，或该事项不在办理中"))
