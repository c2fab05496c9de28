"""`duban matter timeline|list|todo --county SLUG …`."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rich.console import Console
from rich.table import Table

from duban.accounts.models import User
from duban.core import clock
from duban.core.commands import CountyCommand
from duban.matters import queries
from duban.matters.events import ACTION_LABELS, ACTOR_LABELS
from duban.matters.models import Matter
from duban.matters.states import State


def _change(event) -> str:
    before, after = event.before or {}, event.after or {}
    parts = []
    if before.get("state") != after.get("state") and after.get("state"):
        labels = dict(State.choices)
        parts.append(f"{labels.get(before.get('state'), before.get('state') or '—')} → "
                     f"{labels.get(after['state'], after['state'])}")
    for key, value in after.items():
        if key in ("state", "version") or before.get(key) == value:
            continue
        if key in before:
            parts.append(f"{key}: {before[key]} → {value}")
        else:
            parts.append(f"{key}: {value}")
    return "；".join(str(p) for p in parts)


class Command(CountyCommand):
    help = "Matters of a county: a matter's timeline, the list, a user's to-do."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{timeline,list,todo}")
        timeline = sub.add_parser("timeline", help="every recorded action on a matter")
        self.add_county_argument(timeline)
        timeline.add_argument("matter", help="the matter's id or register number (e.g. 2026-0012)")
        listing = sub.add_parser("list", help="the register book")
        self.add_county_argument(listing)
        listing.add_argument("--state", choices=State.values)
        todo = sub.add_parser("todo", help="what waits for a user")
        self.add_county_argument(todo)
        todo.add_argument("--user", required=True)

    def handle_county(self, county, **options):
        self.console = Console(file=self.stdout, width=160)  # wrapped at 160 columns, as it always was
        getattr(self, f"do_{options['action']}")(options)

    def do_timeline(self, options):
        ref = options["matter"]
        matter = Matter.objects.filter(number=ref).first() or (
            Matter.objects.filter(pk=int(ref)).first() if ref.isdigit() else None)
        if matter is None:
            raise CommandError(_("本县没有编号为“%(ref)s”的事项。") % {"ref": ref})
        self.console.print(f"[bold]{matter.number}[/] {matter.title} — {matter.get_state_display()}"
                           + _("（返工 %(redo)d 次，期限 %(deadline)s）")
                           % {"redo": matter.redo_count, "deadline": matter.deadline or "—"})
        table = Table(_("时间"), _("操作人"), _("操作"), _("变更"), _("备注"))
        for event in queries.timeline(matter).select_related("actor"):
            who = (f"{event.actor.display_name}（{event.actor.username}）" if event.actor else
                   str(ACTOR_LABELS.get(event.actor_label, event.actor_label.removeprefix("user:"))))
            table.add_row(f"{timezone.localtime(event.at):%Y-%m-%d %H:%M:%S}", who,
                          str(ACTION_LABELS.get(event.action, event.action)), _change(event),
                          event.note)
        self.console.print(table)

    def do_list(self, options):
        matters = Matter.objects.order_by("number")
        if options["state"]:
            matters = matters.filter(state=options["state"])
        table = Table("id", _("编号"), _("标题"), _("类别"), _("状态"), _("期限"), _("返工"),
                      title=ngettext("共 %(count)d 件事项",
                                     "共 %(count)d 件事项", matters.count()) % {"count": matters.count()})
        for m in matters:
            table.add_row(str(m.pk), m.number, m.title, m.category, m.get_state_display(), str(m.deadline or "—"),
                          str(m.redo_count))
        self.console.print(table)

    def do_todo(self, options):
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(_("本县没有用户名为“%(username)s”的用户。") % {"username": options["user"]})
        items = queries.my_todo(user, clock.today())
        self.console.print(ngettext("%(user)s：待办 %(count)d 项",
                                    "%(user)s：待办 %(count)d 项", len(items)) % {"user": user.display_name, "count": len(items)})
        for item in items:
            self.console.print(f"  [{item.label}] {item.matter.number} {item.matter.title}")
