"""``/`` on a county's host, and the role homes of leaders, the office leader and unit staff.

``/`` sends each user to the page they start from: supervision staff to their to-do list
(``/todo/``), county leaders to ``/leader/``, office leaders to ``/office/``, unit staff to
``/unit/``, the county admin to the admin site; anonymous visitors to the login page.
Reads go through the access helpers (``duban.matters.access``), so a page shows only what its
user may see.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from duban.accounts.models import Role
from duban.core import clock
from duban.core.county import county_pack
from duban.matters import access, queries
from duban.matters.models import ChangeRequest, MatterUnit, Notice
from duban.matters.states import State
from duban.reports.models import WeeklyReport
from duban.supervision import ledger
from duban.supervision.models import Circular
from duban.supervision.steps import RED, light, lights
from duban.web.shortcuts import refused

ROLE_HOMES = {
    Role.SUPERVISION_STAFF: "/todo/",
    Role.COUNTY_LEADER: "/leader/",
    Role.OFFICE_LEADER: "/office/",
    Role.UNIT_STAFF: "/unit/",
    Role.COUNTY_ADMIN: "/admin/",
}

# The to-do kinds of duban.matters.queries.my_todo, translatable (its own labels are plain Chinese).
TODO_KIND_LABELS = {
    "register": gettext_lazy("待登记"), "approve": gettext_lazy("待立项审批"), "assign": gettext_lazy("待交办"),
    "receipt_missing": gettext_lazy("待单位签收"), "decide_request": gettext_lazy("待审批申请"),
    "review": gettext_lazy("待审核结果"), "sign": gettext_lazy("待签收"), "feedback": gettext_lazy("待反馈进展"),
    "report": gettext_lazy("待报送结果"), "redo": gettext_lazy("待复办"),
}
LIGHT_LABELS = {"red": gettext_lazy("红灯"), "yellow": gettext_lazy("黄灯"), "green": gettext_lazy("绿灯")}


def home_for(user) -> str:
    return ROLE_HOMES.get(getattr(user, "role", None), "/todo/")


def role_required(*roles):
    def decorator(view):
        @login_required
        def wrapped(request, *args, **kwargs):
            if request.user.role not in roles:
                return refused(request, _("此页面不适用于您的角色。"))
            return view(request, *args, **kwargs)
        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped
    return decorator


@never_cache
def role_home(request):
    """``/``: the user's own start page."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect("/login/")
    return HttpResponseRedirect(home_for(request.user))


def _todo_rows(items):
    return [{"kind": item.kind, "label": TODO_KIND_LABELS.get(item.kind, item.label), "matter": item.matter,
             "request": item.request} for item in items]


def _red_matters(user, on):
    """Red-light matters (overdue or behind on feedback) among those ``user`` may see."""
    visible = set(access.visible_matters(user).values_list("pk", flat=True))
    return [m for m in lights(on)[RED] if m.pk in visible]


def _latest_weekly_report():
    return WeeklyReport.objects.filter(status=WeeklyReport.Status.ISSUED).order_by("-week_of").first()


@never_cache
@role_required(Role.COUNTY_LEADER)
def leader_home(request):
    """A county leader: matters I proposed and approved, approvals waiting for me, red matters,
    the latest weekly report."""
    user, on = request.user, clock.today()
    visible = access.visible_matters(user)
    waiting = [row for row in _todo_rows(queries.my_todo(user, on)) if row["kind"] in ("approve", "decide_request")]
    return render(request, "web/home_leader.html", {
        "today": on,
        "waiting": waiting,
        "proposed": visible.filter(proposed_by=user).order_by("-proposed_at")[:50],
        "approved": visible.filter(approved_by=user).order_by("deadline", "number")[:50],
        "red": _red_matters(user, on),
        "weekly": _latest_weekly_report(),
    })


@never_cache
@role_required(Role.OFFICE_LEADER)
def office_home(request):
    """The office leader: results waiting for review, change requests to decide, circulars to
    publish, and the ledger (where reversals are made)."""
    user, on = request.user, clock.today()
    visible = access.visible_matters(user)
    return render(request, "web/home_office.html", {
        "today": on,
        "reviews": visible.filter(state=State.REPORTED).order_by("id"),
        "requests": (ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING, matter__in=visible)
                     .select_related("matter", "requested_by").order_by("id")),
        "circulars": Circular.objects.filter(status=Circular.Status.DRAFT).order_by("-drafted_at"),
        "to_approve": visible.filter(state=State.REGISTERED).order_by("id"),
        "red_count": len(_red_matters(user, on)),
        "weekly": _latest_weekly_report(),
    })


@never_cache
@role_required(Role.UNIT_STAFF)
def unit_home(request):
    """Unit staff: my unit's matters by state, what to do next, notices received, my unit's
    score this year."""
    user, on = request.user, clock.today()
    unit = user.unit
    matters = list(access.visible_matters(user).order_by("deadline", "number"))
    links = {link.matter_id: link for link in MatterUnit.objects.filter(unit=unit, matter__in=[m.pk for m in matters])}
    todo = {item.matter.pk: TODO_KIND_LABELS.get(item.kind, item.label) for item in queries.my_todo(user, on)}
    by_state = []
    for state in State:
        rows = [{"matter": m, "role": links[m.pk].get_role_display() if m.pk in links else "",
                 "received": bool(links.get(m.pk) and links[m.pk].received_at),
                 "light": light(m, on), "todo": todo.get(m.pk)}
                for m in matters if m.state == state]
        if rows:
            by_state.append({"state": state, "label": state.label, "rows": rows})
    pack = county_pack()
    notices = []
    for notice in Notice.objects.filter(unit=unit).select_related("matter").order_by("-issued_at")[:30]:
        document = pack.document(notice.kind)
        notices.append({"notice": notice, "title": document.title if document else notice.kind})
    year = pack.schedule.assessment_year(on)
    base, lines, score = ledger.statement(unit, year)
    return render(request, "web/home_unit.html", {
        "today": on, "unit": unit, "by_state": by_state, "count": len(matters), "todo_count": len(todo),
        "notices": notices, "year": year, "base": base, "score": score, "deductions": len(lines),
        "light_labels": LIGHT_LABELS,
    })
