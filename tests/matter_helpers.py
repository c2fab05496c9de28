"""Building matters through the workflow actions, for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from duban.accounts.actions import do_create_user
from duban.accounts.models import Role, User
from duban.core import clock
from duban.matters import actions
from duban.units.models import Unit

PASSWORD = "Test-pass-2026"


@dataclass
class Cast:
    leader: User
    office: User
    staff: User
    lead_clerk: User      # unit staff of D01 (the lead unit)
    co_clerk: User        # unit staff of T01 (a co-operating unit)
    other_clerk: User     # unit staff of a unit the matter is not assigned to


def make_cast() -> Cast:
    """People of county alpha (call inside tenant_context). Rolled back with the test."""
    other = Unit.objects.get_or_create(code="T99", defaults={"name": "九十九镇", "kind": "township"})[0]
    return Cast(
        leader=do_create_user("m_leader", actor="tests", role=Role.COUNTY_LEADER, password=PASSWORD, full_name="王县长"),
        office=do_create_user("m_office", actor="tests", role=Role.OFFICE_LEADER, password=PASSWORD, full_name="李主任"),
        staff=User.objects.get(username="staff"),
        lead_clerk=User.objects.get(username="clerk"),
        co_clerk=User.objects.get(username="clerk1"),
        other_clerk=do_create_user("m_other", actor="tests", role=Role.UNIT_STAFF, password=PASSWORD, unit=other),
    )


def proposed(cast: Cast, **kwargs):
    args = {"title": "推进老旧小区改造", "content": "完成城关片区老旧小区改造，年底前交付。", "category": "work_report",
            "proposed_units": ["D01"], "requested_deadline": clock.today() + timedelta(days=30)}
    args.update(kwargs)
    return actions.do_propose_matter(actor=cast.leader, **args)


def under_way(cast: Cast, matter):
    """Both units sign; the co-operating unit (T01) reports its own part, so the matter's ladder
    concerns the lead unit (D01) alone."""
    actions.do_sign_for_receipt(matter.pk, actor=cast.lead_clerk)
    actions.do_sign_for_receipt(matter.pk, actor=cast.co_clerk)
    actions.do_report_part(matter.pk, actor=cast.co_clerk, text="一号镇承办部分已完成。")


def to_state(cast: Cast, state: str, **assign):
    """A matter walked through the workflow up to ``state``."""
    matter = proposed(cast)
    steps = [
        ("registered", lambda m: actions.do_register_matter(m.pk, actor=cast.staff)),
        ("approved", lambda m: actions.do_approve_matter(m.pk, actor=cast.leader, comment="同意立项")),
        ("assigned", lambda m: actions.do_assign_matter(m.pk, actor=cast.staff, lead_unit="D01", co_units=["T01"],
                                                        requirements="按期办结，书面报告",
                                                        **(assign or {"deadline_working_days": 10}))),
        ("in_progress", lambda m: under_way(cast, m)),
        ("reported", lambda m: actions.do_report_result(m.pk, actor=cast.lead_clerk, text="已完成改造。")),
    ]
    for _name, step in steps:
        if matter.state == state:
            break
        result = step(matter)
        matter = result if hasattr(result, "state") else type(matter).objects.get(pk=matter.pk)
    matter.refresh_from_db()
    assert matter.state == state
    return matter


def led_by(cast: Cast, unit: str, clerk: User, *, deadline_working_days: int = 10, **propose):
    """A matter whose lead unit is ``unit``, assigned and signed for by ``clerk`` (no co-units)."""
    matter = proposed(cast, proposed_units=[unit], **propose)
    actions.do_register_matter(matter.pk, actor=cast.staff)
    actions.do_approve_matter(matter.pk, actor=cast.leader, comment="同意")
    actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit=unit, requirements="按期办结",
                             deadline_working_days=deadline_working_days)
    actions.do_sign_for_receipt(matter.pk, actor=clerk)
    matter.refresh_from_db()
    return matter


def circular_record(cast: Cast, *, days_ago: int = 20, on=None):
    """What a circular over a period holding ``on`` (default: ``days_ago`` days ago) can truthfully
    say: T01 (一号镇) closed a matter on time that day; D01 (一号局) was assigned one five days
    before, with three working days, and has not done it. Returns (closed, overdue)."""
    on = on or clock.today() - timedelta(days=days_ago)
    with clock.as_of(on):
        closed = led_by(cast, "T01", cast.co_clerk)
        actions.do_report_result(closed.pk, actor=cast.co_clerk, text="已按要求完成。")
        actions.do_accept_result(closed.pk, actor=cast.office, reasons="同意办结。")
    with clock.as_of(on - timedelta(days=5)):
        overdue = led_by(cast, "D01", cast.lead_clerk, deadline_working_days=3)
    closed.refresh_from_db()
    overdue.refresh_from_db()
    return closed, overdue
