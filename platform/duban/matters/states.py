"""The one state machine of a matter: every state, every action, who may take it.

Actions check transitions here and nowhere else (``check``). An action that is not allowed in
the matter's current state raises :class:`InvalidTransition`, which says what is allowed now.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import Role
from duban.core.errors import Conflict, NotAllowed


class State(models.TextChoices):
    PROPOSED = "proposed", _("待登记")        # a leader proposed it (收集)
    REGISTERED = "registered", _("待立项")    # in the register book, awaiting a leader's approval
    REJECTED = "rejected", _("未立项")
    APPROVED = "approved", _("已立项")        # approved; awaiting assignment (交办)
    ASSIGNED = "assigned", _("待签收")        # notice issued; awaiting the unit's receipt (签收)
    IN_PROGRESS = "in_progress", _("办理中")
    REPORTED = "reported", _("待审核")        # result reported; awaiting the office leader (审核)
    REDO = "redo", _("复办中")                # sent back for redo (复办)
    CLOSED = "closed", _("已办结")
    CANCELLED = "cancelled", _("已取消")


OPEN_STATES = (State.ASSIGNED, State.IN_PROGRESS, State.REPORTED, State.REDO)
UNDER_WAY = (State.ASSIGNED, State.IN_PROGRESS, State.REDO)
TERMINAL = (State.REJECTED, State.CLOSED, State.CANCELLED)
LEADERS = (Role.COUNTY_LEADER, Role.OFFICE_LEADER)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str | None  # None: the state does not change
    roles: tuple[str, ...]
    label: str


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("register", (State.PROPOSED,), State.REGISTERED, (Role.SUPERVISION_STAFF,), _("登记造册")),
    Transition("approve", (State.REGISTERED,), State.APPROVED, LEADERS, _("批准立项")),
    Transition("reject", (State.REGISTERED,), State.REJECTED, LEADERS, _("不予立项")),
    Transition("assign", (State.APPROVED,), State.ASSIGNED, (Role.SUPERVISION_STAFF,), _("交办")),
    Transition("sign", (State.ASSIGNED, State.IN_PROGRESS, State.REDO), None, (Role.UNIT_STAFF,), _("签收")),
    Transition("feedback", (State.IN_PROGRESS, State.REDO), None, (Role.UNIT_STAFF,), _("反馈进展")),
    Transition("report_part", (State.IN_PROGRESS, State.REDO), None, (Role.UNIT_STAFF,), _("报送承办部分")),
    Transition("report", (State.IN_PROGRESS, State.REDO), State.REPORTED, (Role.UNIT_STAFF,), _("报送结果")),
    Transition("accept", (State.REPORTED,), State.CLOSED, (Role.OFFICE_LEADER,), _("审核通过（办结）")),
    Transition("send_back", (State.REPORTED,), State.REDO, (Role.OFFICE_LEADER,), _("退回复办")),
    # A proposer (人大代表、政协委员) unsatisfied with the reply: the matter is reopened once for a
    # second reply (part of do_accept_result; the pack's scope category says it applies).
    Transition("reply_again", (State.REPORTED,), State.IN_PROGRESS, (Role.OFFICE_LEADER,), _("不满意，再次答复")),
    Transition("request_extension", UNDER_WAY, None, (Role.UNIT_STAFF,), _("申请延期")),
    Transition("decide_extension", (*UNDER_WAY, State.REPORTED), None, LEADERS, _("审批延期")),
    Transition("request_change", (State.APPROVED, *OPEN_STATES), None, (Role.SUPERVISION_STAFF,), _("申请调整或取消")),
    Transition("decide_change", (State.APPROVED, *OPEN_STATES), None, LEADERS, _("审批调整或取消")),
    Transition("cancel", (State.APPROVED, *OPEN_STATES), State.CANCELLED, LEADERS, _("取消")),
)}


class InvalidTransition(Conflict):
    """An action not allowed in the matter's current state (HTTP 409)."""

    code = "invalid_state"

    def __init__(self, action: str, state: str, allowed: list[str]):
        self.action, self.state, self.allowed = action, state, allowed
        allowed_text = ("、".join(str(TRANSITIONS[a].label) if a in TRANSITIONS else a for a in allowed)
                        if allowed else gettext("无（事项已结束）"))
        super().__init__(gettext("%(state)s的事项不能%(action)s；现在可以：%(allowed)s。") % {
            "state": State(state).label, "action": TRANSITIONS[action].label if action in TRANSITIONS else action,
            "allowed": allowed_text})


def allowed_actions(state: str, role: str | None = None) -> list[str]:
    return [t.action for t in TRANSITIONS.values()
            if state in t.sources and (role is None or role in t.roles) and t.action != "cancel"]


def check(action: str, state: str, role: str) -> Transition:
    """The transition for ``action`` from ``state`` by ``role``, or the error saying why not."""
    transition = TRANSITIONS[action]
    if state not in transition.sources:
        raise InvalidTransition(action, state, allowed_actions(state))
    if role not in transition.roles:
        raise NotAllowed(gettext("%(role)s不能%(action)s，只有%(roles)s可以。") % {
            "role": Role(role).label, "action": transition.label,
            "roles": "、".join(str(Role(r).label) for r in transition.roles)})
    return transition
