"""The workflow of the seed's part 三: collect, register, approve, assign, sign, feed back,
report, review, redo — with roles, the state machine, deadlines and the timeline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, proposed, to_state

from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.matters import access, actions, queries
from duban.matters.models import ChangeRequest, DeadlineChange, Matter, MatterRevision, Notice
from duban.matters.states import TRANSITIONS, InvalidTransition, State, allowed_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def test_full_lifecycle_from_collection_to_closed(cast):
    today = clock.today()
    round_ = actions.do_open_round(actor=cast.staff, title="2026年第四季度需要督办事项", due_date=today + timedelta(days=7),
                                   leaders=[cast.leader, cast.office])
    matter = proposed(cast, round_id=round_.pk)
    assert matter.state == State.PROPOSED and matter.number.startswith(f"{today.year}-")
    assert [i.kind for i in queries.my_todo(cast.staff, today)] == ["register"]
    actions.do_register_matter(matter.pk, actor=cast.staff)
    assert [i.kind for i in queries.my_todo(cast.leader, today)] == ["approve"]
    actions.do_approve_matter(matter.pk, actor=cast.leader, comment="同意")
    actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="D01", co_units=["T01"], requirements="年底前完成",
                             deadline_working_days=10, feedback_every_working_days=5)
    matter.refresh_from_db()
    assert matter.state == State.ASSIGNED and matter.deadline > today
    notice = Notice.objects.get(matter=matter, kind="assignment_notice")
    assert notice.number == f"甲政督交〔{today.year}〕{notice.seq}号"
    assert {i.kind for i in queries.my_todo(cast.lead_clerk, today)} == {"sign"}
    assert {i.kind for i in queries.my_todo(cast.co_clerk, today)} == {"sign"}
    actions.do_sign_for_receipt(matter.pk, actor=cast.co_clerk)
    assert Matter.objects.get(pk=matter.pk).state == State.ASSIGNED  # a co-unit's receipt does not start it
    actions.do_sign_for_receipt(matter.pk, actor=cast.lead_clerk)
    assert Matter.objects.get(pk=matter.pk).state == State.IN_PROGRESS
    actions.do_give_feedback(matter.pk, actor=cast.lead_clerk, kind="written", text="已完成80%")
    actions.do_give_feedback(matter.pk, actor=cast.co_clerk, kind="oral", text="配合完成拆迁")
    report = actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="全部完成")
    # The assigning leader sees the result only after review (审核).
    assert list(access.visible_reports(cast.leader, matter)) == []
    assert [i.kind for i in queries.my_todo(cast.office, today)] == ["review"]
    actions.do_accept_result(matter.pk, actor=cast.office, reasons="符合要求")
    matter.refresh_from_db()
    assert matter.state == State.CLOSED and matter.closed_at
    assert list(access.visible_reports(cast.leader, matter)) == [report]
    actions_done = [e.action for e in queries.timeline(matter)]
    assert actions_done == ["matter.propose", "matter.register", "matter.approve", "matter.assign", "matter.sign",
                            "matter.sign", "matter.feedback", "matter.feedback", "matter.report", "matter.accept"]
    assert queries.my_todo(cast.office, today) == []


def test_three_redos_are_counted_and_each_result_kept(cast):
    matter = to_state(cast, "reported")
    for attempt in range(1, 4):
        actions.do_send_back(matter.pk, actor=cast.office, reasons=f"第{attempt}次：材料不全")
        matter.refresh_from_db()
        assert matter.state == State.REDO and matter.redo_count == attempt
        assert [i.kind for i in queries.my_todo(cast.lead_clerk, clock.today())] == ["redo"]
        actions.do_report_result(matter.pk, actor=cast.lead_clerk, text=f"第{attempt + 1}次报送")
    actions.do_accept_result(matter.pk, actor=cast.office)
    matter.refresh_from_db()
    assert matter.state == State.CLOSED and matter.redo_count == 3
    assert [r.attempt for r in matter.reports.all()] == [1, 2, 3, 4]
    assert [r.review.decision for r in matter.reports.all()] == ["redo", "redo", "redo", "accept"]
    assert [e.after["redo_count"] for e in queries.timeline(matter) if e.action == "matter.send_back"] == [1, 2, 3]


@pytest.mark.parametrize(("state", "action"), [
    ("proposed", "approve"), ("registered", "assign"), ("approved", "report"), ("assigned", "accept"),
    ("in_progress", "send_back"), ("reported", "register"), ("closed", "feedback"),
])
def test_each_invalid_transition_says_what_is_allowed_now(cast, state, action):
    matter = to_state(cast, state) if state != "closed" else to_state(cast, "reported")
    if state == "closed":
        actions.do_accept_result(matter.pk, actor=cast.office)
    actor = {"approve": cast.leader, "assign": cast.staff, "report": cast.lead_clerk, "accept": cast.office,
             "send_back": cast.office, "register": cast.staff, "feedback": cast.lead_clerk}[action]
    call = {"approve": lambda: actions.do_approve_matter(matter.pk, actor=actor),
            "assign": lambda: actions.do_assign_matter(matter.pk, actor=actor, lead_unit="D01", requirements="x",
                                                       deadline_working_days=5),
            "report": lambda: actions.do_report_result(matter.pk, actor=actor, text="x"),
            "accept": lambda: actions.do_accept_result(matter.pk, actor=actor),
            "send_back": lambda: actions.do_send_back(matter.pk, actor=actor, reasons="x"),
            "register": lambda: actions.do_register_matter(matter.pk, actor=actor),
            "feedback": lambda: actions.do_give_feedback(matter.pk, actor=actor, kind="oral", text="x")}[action]
    with pytest.raises((InvalidTransition, NotFound)) as excinfo:
        call()
    if isinstance(excinfo.value, InvalidTransition):
        assert (f"{State(state).label}的事项不能{TRANSITIONS[action].label}" in str(excinfo.value)
                and "现在可以：" in str(excinfo.value))
        assert excinfo.value.allowed == allowed_actions(state)
    else:  # unit staff cannot even see a matter before it is assigned to them
        assert state in ("proposed", "registered", "approved")


def test_every_transition_is_in_the_one_table():
    assert set(TRANSITIONS) == {"register", "approve", "reject", "assign", "sign", "feedback", "report_part", "report", "accept",
                                "send_back", "reply_again", "request_extension", "decide_extension", "request_change",
                                "decide_change", "cancel"}
    assert allowed_actions(State.CLOSED) == [] and allowed_actions(State.REJECTED) == []


def test_roles_are_enforced(cast):
    matter = to_state(cast, "registered")
    with pytest.raises(NotAllowed, match="不能批准立项"):
        actions.do_approve_matter(matter.pk, actor=cast.staff)
    matter = to_state(cast, "reported")
    with pytest.raises(NotAllowed, match="不能审核通过"):
        actions.do_accept_result(matter.pk, actor=cast.staff)  # only the office leader reviews
    with pytest.raises(NotAllowed, match="不能审核通过"):
        actions.do_accept_result(matter.pk, actor=cast.leader)


def test_unit_staff_of_another_unit_get_404(cast, world):
    matter = to_state(cast, "in_progress")
    with pytest.raises(NotFound):
        access.access_matter_by_id(cast.other_clerk, matter.pk)
    with pytest.raises(NotFound):
        actions.do_give_feedback(matter.pk, actor=cast.other_clerk, kind="oral", text="我也来")
    assert not access.visible_matters(cast.other_clerk).filter(pk=matter.pk).exists()
    # Missing and not-yours read the same.
    with pytest.raises(NotFound) as missing:
        access.access_matter_by_id(cast.other_clerk, 999999)
    with pytest.raises(NotFound) as not_yours:
        access.access_matter_by_id(cast.other_clerk, matter.pk)
    assert type(missing.value) is type(not_yours.value)
    # A county leader sees what they proposed or approved, not others' matters.
    assert access.visible_matters(cast.leader).filter(pk=matter.pk).exists()


def test_reject_needs_a_comment_and_is_final(cast):
    matter = to_state(cast, "registered")
    with pytest.raises(Invalid) as excinfo:
        actions.do_reject_matter(matter.pk, actor=cast.leader, comment=" ")
    assert excinfo.value.field == "comment"
    actions.do_reject_matter(matter.pk, actor=cast.leader, comment="不属于督办范围")
    with pytest.raises(InvalidTransition, match="现在可以：无（事项已结束）"):
        actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="D01", requirements="x", deadline_working_days=5)


def test_bad_input_names_the_field(cast):
    with pytest.raises(Invalid) as excinfo:
        proposed(cast, category="nonsense")
    assert excinfo.value.field == "category" and "事项类别不正确，可选：" in str(excinfo.value)
    assert "work_report" not in str(excinfo.value)
    with pytest.raises(Invalid) as excinfo:
        proposed(cast, proposed_units=["ZZZ"])
    assert excinfo.value.field == "proposed_units"
    matter = to_state(cast, "approved")
    for kwargs, field in [({"lead_unit": "NOPE", "deadline_working_days": 5}, "lead_unit"),
                          ({"lead_unit": "D01"}, "deadline"),
                          ({"lead_unit": "D01", "deadline": date(2020, 1, 1)}, "deadline"),
                          ({"lead_unit": "D01", "co_units": ["D01"], "deadline_working_days": 5}, "co_units")]:
        with pytest.raises(Invalid) as excinfo:
            actions.do_assign_matter(matter.pk, actor=cast.staff, requirements="x", **kwargs)
        assert excinfo.value.field == field
    assert Matter.objects.get(pk=matter.pk).state == State.APPROVED  # nothing half-done


def test_deadline_of_ten_working_days_across_national_day(cast):
    matter = to_state(cast, "approved")
    # Assign "on" 25 Sep 2026: 10 working days skip 1–7 Oct and count the make-up Saturday 10 Oct.
    from duban.core.clock import as_of

    with as_of(date(2026, 9, 25)):
        actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="D01", requirements="国庆前后",
                                 deadline_working_days=10)
    matter.refresh_from_db()
    assert matter.deadline == date(2026, 10, 15) and matter.deadline_provisional is False


def test_extension_request_decided_by_leader_appends_deadline_change(cast):
    matter = to_state(cast, "in_progress")
    old = matter.deadline
    request = actions.do_request_extension(matter.pk, actor=cast.lead_clerk, new_deadline=old + timedelta(days=14),
                                           reason="拆迁协调未完成")
    with pytest.raises(Invalid, match="等待审批"):
        actions.do_request_extension(matter.pk, actor=cast.lead_clerk, new_deadline=old + timedelta(days=20), reason="x")
    assert [i.kind for i in queries.my_todo(cast.leader, clock.today())] == ["decide_request"]
    actions.do_decide_request(request.pk, actor=cast.leader, approve=True, note="同意延期两周")
    matter.refresh_from_db()
    assert matter.deadline == old + timedelta(days=14)
    change = DeadlineChange.objects.filter(matter=matter, kind="extension").get()
    assert (change.old_deadline, change.new_deadline) == (old, old + timedelta(days=14))
    with pytest.raises(Conflict, match="该申请已经审批"):
        actions.do_decide_request(request.pk, actor=cast.office, approve=False)


def test_adjustment_appends_a_revision_and_cancellation_needs_a_leader(cast):
    matter = to_state(cast, "in_progress")
    request = actions.do_request_change(matter.pk, actor=cast.staff, kind="adjustment", reason="领导调整要求",
                                        changes={"requirements": "增加验收环节", "co_units": ["T01", "T99"]})
    actions.do_decide_request(request.pk, actor=cast.leader, approve=True)
    matter.refresh_from_db()
    revisions = list(MatterRevision.objects.filter(matter=matter).order_by("seq"))
    assert [r.seq for r in revisions] == [1, 2]
    assert revisions[0].requirements == "按期办结，书面报告"  # the first version is kept as it was
    assert revisions[1].requirements == "增加验收环节" and revisions[1].co_units == ["T01", "T99"]
    assert set(matter.units.values_list("unit__code", flat=True)) == {"D01", "T01", "T99"}
    cancel = actions.do_request_change(matter.pk, actor=cast.staff, kind="cancellation", reason="上级已撤销该任务")
    assert Matter.objects.get(pk=matter.pk).state == State.IN_PROGRESS  # not cancelled until a leader says so
    actions.do_decide_request(cancel.pk, actor=cast.leader, approve=True)
    assert Matter.objects.get(pk=matter.pk).state == State.CANCELLED
    assert ChangeRequest.objects.filter(matter=matter, status="approved").count() == 2


def test_stale_version_is_a_conflict(cast):
    matter = to_state(cast, "reported")
    seen = matter.version
    actions.do_send_back(matter.pk, actor=cast.office, reasons="补充材料", expected_version=seen)
    with pytest.raises(Conflict, match="已被他人修改"):
        actions.do_accept_result(matter.pk, actor=cast.office, expected_version=seen)


def test_no_answer_lists_feedback_due_and_overdue(cast):
    today = clock.today()
    matter = to_state(cast, "in_progress", deadline_working_days=20, feedback_every_working_days=3)
    assert matter.feedback_due_on > today and not queries.no_answer(cast.staff, today).filter(pk=matter.pk).exists()
    Matter.objects.filter(pk=matter.pk).update(feedback_due_on=today - timedelta(days=1))
    assert list(queries.no_answer(cast.staff, today)) == [Matter.objects.get(pk=matter.pk)]
    items = queries.my_todo(cast.lead_clerk, today)
    assert [i.kind for i in items] == ["feedback"]
    actions.do_give_feedback(matter.pk, actor=cast.lead_clerk, kind="oral", text="电话报告进度")
    assert Matter.objects.get(pk=matter.pk).feedback_due_on > today
    assert not queries.no_answer(cast.staff, today).exists()
    assert queries.my_todo(cast.lead_clerk, today) == []


def test_audit_rows_record_before_and_after(cast):
    matter = to_state(cast, "approved")
    event = AuditEvent.objects.filter(object_type="matters.matter", object_id=str(matter.pk),
                                      action="matter.approve").get()
    assert event.before["state"] == "registered" and event.after["state"] == "approved"
    assert event.actor.username == "m_leader"


def test_matter_timeline_cli(cast, world, capsys):
    matter = to_state(cast, "in_progress")
    call_command("matter", "timeline", "--county", "alpha", str(matter.pk))
    out = capsys.readouterr().out
    assert "matter.propose" not in out and "registered" not in out
    for text in (matter.number, "提出督办事项", "交办", "m_leader", "待立项 → 已立项"):
        assert text in out


def test_overview_counts_match_the_lists(cast):
    today = clock.today()
    to_state(cast, "in_progress")
    to_state(cast, "registered")
    overview = queries.overview(today)
    assert overview["by_state"]["in_progress"] == Matter.objects.filter(state="in_progress").count() >= 1
    assert overview["by_state"]["registered"] == Matter.objects.filter(state="registered").count() >= 1
    assert overview["no_answer"] == queries.no_answer(cast.staff, today).count()
