"""Read-side views of matters: the timeline, the register book, "no answer", my to-do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet

from duban.accounts.models import Role
from duban.audit.models import AuditEvent
from duban.matters import access
from duban.matters.models import ChangeRequest, Matter, MatterUnit
from duban.matters.states import OPEN_STATES, State
from duban.units.models import Unit


def timeline(matter: Matter, user=None) -> QuerySet[AuditEvent]:
    """Every recorded action on the matter, oldest first (the audit trail is append-only). For a
    ``user``, without the uploads of files they may not see (access.visible_attachments): the
    event names the file and its hash. Without one (operators' CLI), everything."""
    events = AuditEvent.objects.filter(object_type="matters.matter", object_id=str(matter.pk))
    if user is not None:
        hidden = list(matter.attachments.exclude(pk__in=access.visible_attachments(user, matter).values("pk"))
                      .values_list("pk", flat=True))
        if hidden:
            events = events.exclude(action="matter.attach", after__attachment__in=hidden)
    return events.order_by("at", "id")


def register_book(user) -> QuerySet[Matter]:
    """The register book (登记造册): every registered matter, by number."""
    return access.visible_matters(user).exclude(state=State.PROPOSED).order_by("number")


def supervision_plan(user) -> dict[str, dict[str, list[Matter]]]:
    """The supervision plan (督办计划): open and approved matters by category, then by lead unit."""
    plan: dict[str, dict[str, list[Matter]]] = {}
    matters = (access.visible_matters(user).filter(state__in=[State.APPROVED, *OPEN_STATES])
               .prefetch_related("units__unit").order_by("deadline", "number"))
    for matter in matters:
        lead = matter.lead_unit
        plan.setdefault(matter.category, {}).setdefault(lead.name if lead else "（待交办）", []).append(matter)
    return plan


def no_answer(user, on: date) -> QuerySet[Matter]:
    """件件有回音: matters under way whose feedback is due and missing, or past their deadline
    without a result."""
    under_way = access.visible_matters(user).filter(state__in=[State.ASSIGNED, State.IN_PROGRESS, State.REDO])
    return under_way.filter(Q(feedback_due_on__lt=on) | Q(deadline__lt=on)).order_by("deadline", "number")


@dataclass(frozen=True)
class TodoItem:
    kind: str       # what is waiting: approve, register, assign, sign, feedback, report, review, …
    label: str
    matter: Matter
    request: ChangeRequest | None = None


TODO_LABELS = {
    "register": "待登记", "approve": "待立项审批", "assign": "待交办", "receipt_missing": "待单位签收",
    "decide_request": "待审批申请", "review": "待审核结果", "sign": "待签收", "feedback": "待反馈进展",
    "report": "待报送结果", "redo": "待复办",
}


def my_todo(user, on: date) -> list[TodoItem]:
    """What waits for my approval and what waits for my action. A count shown anywhere is
    ``len(my_todo(...))`` of the same list."""
    items: list[TodoItem] = []
    visible = access.visible_matters(user)

    def add(kind, matters, request=None):
        for matter in matters:
            items.append(TodoItem(kind, TODO_LABELS[kind], matter, request))

    if user.role == Role.SUPERVISION_STAFF:
        add("register", visible.filter(state=State.PROPOSED).order_by("id"))
        add("assign", visible.filter(state=State.APPROVED).order_by("id"))
        add("receipt_missing", visible.filter(state=State.ASSIGNED).order_by("id"))
    if user.role in (Role.COUNTY_LEADER, Role.OFFICE_LEADER):
        # A leader approves what they proposed; the office leader may approve any registered matter.
        registered = visible.filter(state=State.REGISTERED).order_by("id")
        add("approve", registered if user.role == Role.OFFICE_LEADER else registered.filter(proposed_by=user))
        for request in (ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING)
                        .select_related("matter").order_by("id")):
            if user.role == Role.OFFICE_LEADER or request.matter.approved_by_id == user.pk:
                items.append(TodoItem("decide_request", TODO_LABELS["decide_request"], request.matter, request))
    if user.role == Role.OFFICE_LEADER:
        add("review", visible.filter(state=State.REPORTED).order_by("id"))
    if user.role == Role.UNIT_STAFF and user.unit_id:
        links = (MatterUnit.objects.filter(unit_id=user.unit_id, matter__in=visible)
                 .select_related("matter").order_by("matter_id"))
        for link in links:
            matter = link.matter
            if matter.state in (State.ASSIGNED, State.IN_PROGRESS, State.REDO) and not link.received_at:
                items.append(TodoItem("sign", TODO_LABELS["sign"], matter))
            elif matter.state == State.REDO and link.role == MatterUnit.Role.LEAD:
                items.append(TodoItem("redo", TODO_LABELS["redo"], matter))
            elif matter.state == State.IN_PROGRESS and link.role == MatterUnit.Role.LEAD and (
                    (matter.feedback_due_on and matter.feedback_due_on <= on) or (matter.deadline and matter.deadline <= on)):
                items.append(TodoItem("feedback" if matter.deadline > on else "report",
                                      TODO_LABELS["feedback" if matter.deadline > on else "report"], matter))
    return items


def overview(on: date) -> dict:
    """The county's overview (for leaders): matters by state, overdue and no-answer counts."""
    by_state = dict(Matter.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    under_way = Matter.objects.filter(state__in=[State.ASSIGNED, State.IN_PROGRESS, State.REDO])
    return {
        "by_state": {state: by_state.get(state, 0) for state in State.values},
        "overdue": under_way.filter(deadline__lt=on).count(),
        "no_answer": under_way.filter(Q(feedback_due_on__lt=on) | Q(deadline__lt=on)).count(),
        "redone_more_than_twice": Matter.objects.filter(redo_count__gt=2).count(),
    }


def missing_parts(matter: Matter) -> tuple[list[Unit], list[Unit]]:
    """The co-operating units that never signed for the matter, and those that signed but never
    reported their own part (报送承办部分): closing the matter leaves their part unanswered."""
    links = [link for link in matter.units.select_related("unit").order_by("id") if link.role == MatterUnit.Role.CO]
    return ([link.unit for link in links if not link.received_at],
            [link.unit for link in links if link.received_at and not link.part_reported_at])


def proposed_unit_codes(matter: Matter) -> list[str]:
    """The units the leader proposed, in the order the leader gave them (the first to lead): the
    proposal's audit record keeps that order, which the many-to-many table does not."""
    codes = set(matter.proposed_units.values_list("code", flat=True))
    event = AuditEvent.objects.filter(object_type="matters.matter", object_id=str(matter.pk),
                                      action="matter.propose").order_by("id").first()
    ordered = [code for code in ((event.after or {}).get("proposed_units") or [] if event else []) if code in codes]
    return ordered + sorted(codes - set(ordered))
