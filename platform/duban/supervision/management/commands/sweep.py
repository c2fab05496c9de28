"""`duban sweep [--county SLUG] [--on DATE]`: open the due ladder steps now and print them."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError
from django.utils.formats import date_format
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from duban.core.clock import as_of
from duban.core.clock import today as clock_today
from duban.core.commands import CountyCommand
from duban.core.connections import bounded
from duban.core.county import county_pack
from duban.core.progress import progress_bar
from duban.supervision.inspection import open_inspection_if_due, report_inspection_if_due
from duban.supervision.reminders import send_reminders
from duban.supervision.steps import sweep
from tenants.models import County


class Command(CountyCommand):
    help = "Run the supervision sweep now: open every ladder step that is due."

    def add_arguments(self, parser):
        parser.add_argument("--county", help="one county (default: every active county)")
        parser.add_argument("--on", help="sweep as of this date (YYYY-MM-DD; default today)")

    def handle_county(self, county, /, **options):
        """``county``: the one ``--county`` names, which must be active (None: every active county)."""
        counties = County.objects.filter(status=County.Status.ACTIVE).order_by("slug")
        if county is not None:
            counties = counties.filter(pk=county.pk)
            if not counties.exists():
                raise CommandError(_("没有代码为“%(slug)s”的在用县。") % {"slug": county.slug})
        try:
            on = date.fromisoformat(options["on"]) if options["on"] else None
        except ValueError:
            raise CommandError(_("--on：“%(value)s”不是有效的日期（格式：2026-12-01）。") % {"value": options["on"]}) from None
        lines, total, reminders = [], 0, 0
        with progress_bar("自动巡查", total=counties.count(), enabled=counties.count() > 1) as advance:
            for each in bounded(counties):
                with tenant_context(each):
                    if on:
                        with as_of(on):
                            opened = sweep(on=on, actor="cli")
                    else:
                        opened = sweep(actor="cli")
                    labels = {t.code: t.label.get(get_language() or "zh-hans") for t in county_pack().tiers}
                    for item in opened:
                        step = item.step
                        facts = {"county": f"{each.slug:<10}", "number": step.matter.number,
                                 "title": step.matter.title[:24], "unit": step.unit.name,
                                 "tier": labels.get(step.tier, step.tier), "due": date_format(step.due_on)}
                        lines.append((_("  %(county)s %(number)s  %(title)s → %(unit)s  %(tier)s，%(due)s到期（已自动记录）")
                                      if item.recorded else
                                      _("  %(county)s %(number)s  %(title)s → %(unit)s  %(tier)s，%(due)s到期（待督查人员办理）"))
                                     % facts)
                    total += len(opened)
                    with as_of(on or clock_today()):
                        round_ = open_inspection_if_due(actor="cli")
                        reported = report_inspection_if_due(actor="cli")
                    if round_ is not None:
                        lines.append(_("  %(county)s %(round)s：集中检查期开启（%(opens)s至%(closes)s，共 %(n)d 项）") % {
                            "county": f"{each.slug:<10}", "round": round_, "opens": date_format(round_.opens_on),
                            "closes": date_format(round_.closes_on), "n": round_.items.count()})
                    for done in reported:
                        lines.append(_("  %(county)s %(round)s：结果已报县政府相关领导审阅") % {
                            "county": f"{each.slug:<10}", "round": done})
                    with as_of(on or clock_today()):
                        reminders += send_reminders()
                advance()
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(ngettext("自动巡查开启督办措施 %(steps)d 项，涉及 %(counties)d 个县；发出提醒 %(reminders)d 条",
                                   "自动巡查开启督办措施 %(steps)d 项，涉及 %(counties)d 个县；发出提醒 %(reminders)d 条", total)
                          % {"steps": total, "counties": counties.count(), "reminders": reminders})
