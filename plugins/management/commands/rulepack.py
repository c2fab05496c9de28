"""`duban rulepack list | show NAME | check NAME`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from plugins.manager import get_registry
from plugins.testing import check_pack, run_scenarios
from tenants.models import County


class Command(BaseCommand):
    help = "List, show and check the installed rule packs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,show,check}")
        sub.add_parser("list", help="installed packs: name, version, source distribution, status")
        show = sub.add_parser("show", help="a pack's scope, ladder, schedule and calendar")
        show.add_argument("name")
        show.add_argument("--language", default="zh-hans", choices=("zh-hans", "en"))
        check = sub.add_parser("check", help="run the conformance kit and the standard scenarios")
        check.add_argument("name")

    def console(self) -> Console:
        return Console(file=self.stdout, width=150, soft_wrap=False)

    def handle(self, *args, **options):
        return getattr(self, f"do_{options['action']}")(options)

    def _pack(self, name):
        entry = get_registry().get(name)
        if entry is None:
            raise CommandError(_("没有名为“%(name)s”的规则包（已安装：%(installed)s）。")
                               % {"name": name, "installed": "、".join(get_registry().names()) or _("无")})
        if not entry.ok:
            raise CommandError(_("规则包“%(name)s”有错误：%(error)s") % {"name": name, "error": entry.error})
        return entry.pack

    def do_list(self, options):
        using = {}
        for name, version in County.objects.values_list("rulepack_name", "rulepack_version"):
            using.setdefault((name, version), 0)
            using[(name, version)] += 1
        table = Table(_("名称"), _("版本"), _("来源（发行包，入口点）"), _("状态"), _("使用的县"), title=_("规则包"))
        broken = []
        for entry in get_registry().all():
            counties = sum(n for (name, _), n in using.items() if name == entry.name)
            table.add_row(entry.name, entry.version, entry.source,
                          "[green]" + _("正常") + "[/]" if entry.ok else "[red]" + _("损坏") + "[/]", str(counties))
            if not entry.ok:
                broken.append(entry)
        self.console().print(table)
        if broken:
            self.stdout.write(self.style.ERROR(
                ngettext("有 %(count)d 个规则包损坏，已拒绝加载，其他功能照常运行：",
                         "有 %(count)d 个规则包损坏，已拒绝加载，其他功能照常运行：", len(broken)) % {"count": len(broken)}))
            for entry in broken:
                field = _("［字段 %(field)s］") % {"field": entry.field} if entry.field else ""
                self.stdout.write(f"  {entry.name}: {field}{entry.error}")

    def do_show(self, options):
        pack = self._pack(options["name"])
        lang = options["language"]
        console = self.console()
        console.print(f"[bold]{pack.title.get(lang)}[/]  {pack.key}  "
                      + _("提供方：%(vendor)s") % {"vendor": pack.vendor or "—"}
                      + (_("  继承自：%(base)s") % {"base": pack.extends} if pack.extends else ""))
        if pack.source:
            console.print(_("来源：%(source)s") % {"source": pack.source})
        scope = Table(_("代码"), _("类别"), _("条款"), _("默认期限"), _("法定时限"), title=_("督办范围"))
        for c in pack.scope:
            clock = (_("%(n)d 个月") % {"n": c.statutory_clock.months} if c.statutory_clock and c.statutory_clock.months
                     else _("%(n)d 个工作日") % {"n": c.statutory_clock.working_days} if c.statutory_clock else "—")
            scope.add_row(c.code, c.label.get(lang), c.clause,
                          _("%(n)d 个工作日") % {"n": c.default_deadline_working_days}
                          if c.default_deadline_working_days else "—", clock)
        console.print(scope)
        ladder = Table("#", _("代码"), _("督办方式"), _("条款"), _("针对"), _("启动时间"), _("佐证材料"), _("文书"), _("方式"),
                       _("可跳过"), _("扣分"), title=_("督办方式（依次）"))
        for i, t in enumerate(pack.tiers, 1):
            days = max(t.trigger.working_days, 1)
            if t.trigger.basis == "deadline_passed":
                trigger = (_("逾期后的第一个工作日") if days == 1
                           else _("逾期后的第 %(days)d 个工作日") % {"days": days})
            else:
                trigger = _("上一督办方式后 %(days)d 个工作日") % {"days": days}
            previous = pack.tiers[i - 2] if i > 1 else None
            if previous is not None and previous.promise_field and t.trigger.basis != "deadline_passed":
                trigger += (_("，或当时承诺日期（%(field)s）后的第一个工作日，以较早者为准")
                            % {"field": previous.promise_field})
            trigger += _("（本包自定）") if t.trigger.pack_choice else ""
            evidence = ", ".join(e.label.get(lang) + ("" if e.required else "?") for e in t.evidence)
            rule = pack.schedule.rule(t.deduction_event) if t.deduction_event else None
            ladder.add_row(str(i), t.code, t.label.get(lang), t.clause, ", ".join(t.trigger.answers), trigger, evidence,
                           pack.document(t.document).title if t.document else "—", t.mode,
                           _("是") if t.skippable else _("否"), f"{rule.amount}" if rule else "—")
        console.print(ladder)
        schedule = Table(_("事项"), _("扣分项"), _("分值"), _("计算方式"), _("承担方"), _("条款"),
                         title=_("考核标准 — 基础分 %(base)s，最低分 %(floor)s，考核年度自 %(month)d 月起")
                         % {"base": pack.schedule.base, "floor": pack.schedule.floor,
                            "month": pack.schedule.year_starts_month})
        for r in pack.schedule.events:
            counting = {"per_occurrence": _("每次"),
                        "once_per_matter_over_threshold": _("每件事项次数超过 %(n)d 时扣一次") % {"n": r.threshold},
                        "per_occurrence_over_threshold": _("超过 %(n)d 次后每次") % {"n": r.threshold}}[r.counting]
            schedule.add_row(r.code, r.label.get(lang), str(r.amount), counting,
                             {"addressed_unit": _("被督办单位"), "lead_unit": _("牵头单位")}.get(r.bearer, r.bearer), r.clause)
        console.print(schedule)
        unanswered = [k for k in ("deadline_missed", "feedback_overdue", "check_due") if k not in pack.escalated_triggers]
        console.print(_("启动督办阶梯的情形：%(triggers)s") % {"triggers": "，".join(pack.escalated_triggers)}
                      + (_("；只提醒、亮灯（不开启督办措施）：%(rest)s") % {"rest": "，".join(unanswered)}
                         if unanswered else "")
                      + _("；期限按工作日计算，由到期当日的自动巡查开启"))
        kinds = Table(_("代码"), _("冲正类别"), _("督办措施"), _("条款"), title=_("冲正"))
        for k in pack.schedule.reversal_kinds:
            kinds.add_row(k.code, k.label.get(lang), _("撤销（督办阶梯需要再次采取该方式）") if k.withdraws_step
                          else _("保留（只退回分数）"), k.clause)
        console.print(kinds)
        cal = pack.calendar
        weekday = "一二三四五六日"[cal.weekly_report.weekday - 1]
        console.print(
            _("日历：节假日来源 %(holidays)s") % {"holidays": cal.holidays}
            + (_("，另有 %(count)d 处调整") % {"count": len(cal.overrides)} if cal.overrides else "")
            + _("；集中检查期：每季度最后 %(weeks)d 周（%(clause)s）")
            % {"weeks": cal.inspection_window.weeks, "clause": cal.inspection_window.clause}
            + _("；周报：星期%(weekday)s %(at)s") % {"weekday": weekday, "at": f"{cal.weekly_report.at:%H:%M}"}
            + _("；期限前 %(days)d 个工作日亮黄灯，逾期亮红灯") % {"days": cal.warnings.yellow_working_days}
            + _("；时效性事项每 %(days)d 个工作日检查一次") % {"days": cal.time_sensitive_check_working_days})
        if pack.interpretations:
            notes = Table(_("代码"), _("条款"), _("理解"), title=_("本包的理解"))
            for i in pack.interpretations:
                notes.add_row(i.code, i.clause, i.text.get(lang))
            console.print(notes)

    def do_check(self, options):
        pack = self._pack(options["name"])
        problems = check_pack(pack)
        console = self.console()
        if problems:
            for problem in problems:
                console.print(f"[red]✗[/] {problem}")
            raise CommandError(_("规则包%(pack)s不合规范（%(count)d处问题）。") % {"pack": pack.key, "count": len(problems)})
        console.print("[green]✓[/] " + _("%(pack)s：符合性检查全部通过") % {"pack": pack.key})
        table = Table(_("场景"), _("单位"), _("年度"), _("台账记录"), _("扣分"), _("得分"),
                      title=_("%(pack)s 下的标准场景（基础分 %(base)s，最低分 %(floor)s）")
                      % {"pack": pack.key, "base": pack.schedule.base, "floor": pack.schedule.floor})
        for row in run_scenarios(pack):
            table.add_row(f"{row.scenario} — {row.description}", row.unit, str(row.year), str(row.entries),
                          f"{row.deducted}", f"{row.score}")
        console.print(table)
