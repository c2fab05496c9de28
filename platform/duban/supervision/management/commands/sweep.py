"""`duban sweep [--county SLUG] [--on DATE]`: open the due ladder steps now and print them."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tenants.utils import tenant_context

from duban.core.clock import as_of
from duban.core.clock import today as clock_today
from duban.core.commands import CountyCommand
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
            for each in counties:
                with tenant_context(each):
                    if on:
                        with as_of(on):
                            opened = sweep(on=on, actor="cli")
                    else:
                        opened = sweep(actor="cli")
                    for item in opened:
                        step = item.step
                        lines.append(f"  {each.slug:<10} {step.matter.number}  {step.matter.title[:24]:<24}  "
                                     f"→ {step.unit.name}  {step.tier} due {step.due_on}"
                                     + ("  (recorded automatically)" if item.recorded else "  (to-do for staff)"))
                    total += len(opened)
                    with as_of(on or clock_today()):
                        round_ = open_inspection_if_due(actor="cli")
                        reported = report_inspection_if_due(actor="cli")
                    if round_ is not None:
                        lines.append(f"  {each.slug:<10} opened the inspection window {round_} "
                                     f"({round_.opens_on} – {round_.closes_on}, {round_.items.count()} items)")
                    for done in reported:
                        lines.append(f"  {each.slug:<10} reported {done} to the county leaders ({done.summary})")
                    with as_of(on or clock_today()):
                        reminders += send_reminders()
                advance()
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(ngettext("自动巡查开启督办措施 %(steps)d 项，涉及 %(counties)d 个县；发出提醒 %(reminders)d 条",
                                   "自动巡查开启督办措施 %(steps)d 项，涉及 %(counties)d 个县；发出提醒 %(reminders)d 条", total)
                          % {"steps": total, "counties": counties.count(), "reminders": reminders})
