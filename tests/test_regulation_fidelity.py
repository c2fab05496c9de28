"""The ladder and the ledger to the letter of the county's regulation (parts 四, 五 and 六 of the
seed plan), one scenario per finding of the supervision office; each test is named after it."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, led_by, make_cast, to_state
from openpyxl import load_workbook

from duban.core.clock import as_of
from duban.core.county import county_calendar, county_pack
from duban.core.errors import Invalid
from duban.matters import actions
from duban.notifications.models import Notification
from duban.supervision import ledger, steps
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_manual_step,
    do_record_step,
    do_reverse_entry,
    do_set_circular_lists,
)
from duban.supervision.models import EscalationStep, LedgerEntry
from duban.supervision.reminders import send_reminders
from plugins.manager import active_plugin_manager

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

PHONE = {"contact": "王科长", "contacted_at": "2025-11-20T10:00", "promised_date": "2025-12-01"}
NOTICE = {"requirements": "三日内专题答复", "reply_due": "2026-11-30"}


def phone(promised: date) -> dict:
    return {"contact": "王科长", "contacted_at": f"{promised}T10:00", "promised_date": promised.isoformat()}


def assigned(cast, on: date, **assign):
    """A matter assigned to D01 (with T01) as of ``on``, signed for."""
    with as_of(on):
        return to_state(cast, "in_progress", **assign)


def opened(on: date, matter) -> list[tuple[str, date]]:
    """(tier, due day) of the steps the sweep of ``on`` opens for ``matter``."""
    with as_of(on):
        return [(o.step.tier, o.step.due_on) for o in steps.sweep(on=on) if o.step.matter_id == matter.pk]


def record_due(cast, matter, on: date, evidence: dict) -> EscalationStep:
    step = EscalationStep.objects.get(matter=matter, status="due")
    with as_of(on):
        return do_record_step(step.pk, actor=cast.staff, evidence=evidence, on=on)


@pytest.fixture
def cast(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        yield make_cast()


def client_for(world, user) -> Client:
    client = Client(HTTP_HOST=world.owner.host)
    client.force_login(user)
    return client


# --- 9. the year selector -------------------------------------------------------------------------
def test_9_the_year_selector_shows_a_past_year_on_the_scores_statement_and_annual_table(world, cast):
    """?year= chooses the assessment year on every page and export that takes one (it was ignored:
    a method of the form replaced its field)."""
    with as_of(date(2025, 10, 8)):
        matter = to_state(cast, "in_progress", deadline_working_days=5)
    do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=PHONE, on=date(2025, 11, 20))
    assert LedgerEntry.objects.get(matter=matter).year == 2025
    staff = client_for(world, cast.staff)

    past = staff.get("/scores/?year=2025")
    assert past.status_code == 200 and past.context["year"] == 2025
    rows = {row["code"]: row for row in past.context["rows"]}
    assert rows["D01"]["score"] == Decimal("2.9")
    this_year = staff.get("/scores/")
    assert this_year.context["year"] == 2026
    assert {row["code"]: row for row in this_year.context["rows"]}["D01"]["score"] == Decimal("3.0")

    statement = staff.get("/scores/D01/?year=2025")
    assert statement.status_code == 200 and statement.context["year"] == 2025
    assert statement.context["final"] == Decimal("2.9") and len(statement.context["lines"]) == 1

    table = staff.get("/scores/annual.xlsx?year=2025")
    assert table.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(table.streaming_content))).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any("2025" in c for c in cells) and "2.9" in cells

    for bad in ("abc", "1999", "2101", "-1"):
        for path in ("/scores/", "/scores/D01/", "/scores/annual.xlsx"):
            assert staff.get(path, {"year": bad}).status_code == 400, (path, bad)


# --- 10. the CLI and the API refuse the same input ----------------------------------------------------
@pytest.mark.parametrize("year", ["-1", "1999", "2101", "abc"])
def test_10_the_cli_refuses_a_year_the_api_refuses(world, cast, year):
    api = Client(HTTP_HOST=world.owner.host, HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    refused = api.get("/api/v1/scores/", {"year": year})
    assert refused.status_code == 400 and "year" in refused.json()["error"]["fields"]
    for argv in (["supervision", "scores", "--county", "alpha", "--year", year],
                 ["supervision", "statement", "--county", "alpha", "D01", "--year", year],
                 ["report", "annual", "--county", "alpha", "--year", year]):
        with pytest.raises(CommandError, match=r"--year: year: "):
            call_command(*argv, stdout=io.StringIO())


# --- 1. only a missed deadline starts the ladder --------------------------------------------------
def test_1_late_feedback_and_a_due_check_get_a_reminder_and_a_light_not_a_deduction(cast):
    """四(一): the ladder is for 在规定期限内未能完成的. Late periodic feedback and a due check of a
    time-sensitive matter, deadline not passed: a reminder (催报) and a red light, no step, no points."""
    late = assigned(cast, date(2026, 11, 2), deadline=date(2026, 12, 18), feedback_every_working_days=3)
    assert late.feedback_due_on < date(2026, 11, 20)
    sensitive = assigned(cast, date(2026, 11, 2), deadline=date(2026, 12, 31))
    type(sensitive).objects.filter(pk=sensitive.pk).update(time_sensitive=True)
    for day in (date(2026, 11, 10), date(2026, 11, 20), date(2026, 11, 26)):
        assert opened(day, late) == [] and opened(day, sensitive) == []
    assert not EscalationStep.objects.filter(matter__in=[late, sensitive]).exists()
    assert not LedgerEntry.objects.filter(matter__in=[late, sensitive]).exists()
    assert steps.light(late, date(2026, 11, 26)) == steps.RED
    send_reminders(date(2026, 11, 26))
    events = set(Notification.objects.filter(matter__in=[late, sensitive]).values_list("event", "matter_id"))
    assert ("feedback.missed", late.pk) in events and ("check.due", sensitive.pk) in events
    # The same matter once its deadline has passed: the ladder starts.
    assert opened(date(2026, 12, 18), late) == []
    assert opened(date(2026, 12, 21), late) == [("phone", date(2026, 12, 21))]


def test_1_a_pack_may_choose_to_escalate_late_feedback(cast):
    """The trigger kinds are pack data: a pack whose tiers answer feedback_overdue escalates it
    (the default pack, which does not, opens nothing for the same matter)."""
    matter = assigned(cast, date(2026, 11, 2), deadline=date(2026, 12, 31), feedback_every_working_days=3)
    default = county_pack()
    assert default.escalated_triggers == ("deadline_missed",)
    eager = default.derive(name="county_eager", tiers=[
        {"code": t.code, "trigger": {"answers": ["deadline_missed", "feedback_overdue"]}} for t in default.tiers])
    hook, calendar, on = active_plugin_manager().hook, county_calendar(), date(2026, 11, 26)
    assert steps.due_tier(matter, [], on, calendar, default, hook) is None
    tier, due_on = steps.due_tier(matter, [], on, calendar, eager, hook)
    assert tier.code == "phone" and due_on == calendar.add_working_days(matter.feedback_due_on, 1)[0]
    interpretations = {i.code for i in default.interpretations}
    assert {"ladder_triggers", "ladder_timing", "promised_date", "reversal_kinds"} <= interpretations


# --- 2. steps fall due on the first working day after, and open that day -------------------------
def test_2_a_friday_deadline_opens_the_phone_step_on_monday_not_at_the_weekend(cast):
    matter = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 20))  # a Friday
    for day in (date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)):
        assert opened(day, matter) == [], day
    assert opened(date(2026, 11, 23), matter) == [("phone", date(2026, 11, 23))]  # Monday, its due day
    record_due(cast, matter, date(2026, 11, 23), phone(date(2026, 12, 15)))
    # The written notice: 5 working days after the phone step — opened by the sweep of that day.
    assert opened(date(2026, 11, 27), matter) == []
    assert opened(date(2026, 11, 30), matter) == [("written_notice", date(2026, 11, 30))]


def test_2_nothing_falls_due_on_a_rest_day_and_a_make_up_saturday_is_a_working_day(cast):
    calendar = county_calendar()
    before_holiday = assigned(cast, date(2026, 9, 1), deadline=date(2026, 9, 30))  # National Day follows
    first = opened(date(2026, 10, 8), before_holiday)
    assert first and calendar.is_workday(first[0][1]) and first[0][1] == calendar.add_working_days(date(2026, 9, 30), 1)[0]
    for rest in (date(2026, 10, 1), date(2026, 10, 4), date(2026, 10, 7)):
        assert not calendar.is_workday(rest)
    friday = assigned(cast, date(2026, 9, 1), deadline=date(2026, 10, 9))
    assert calendar.is_workday(date(2026, 10, 10))  # 调休: Saturday 10 October is a working day
    assert opened(date(2026, 10, 10), friday) == [("phone", date(2026, 10, 10))]


# --- 3. a reversal as recorded in error takes the step off the ladder --------------------------------
def test_3_a_phone_step_reversed_as_recorded_in_error_is_withdrawn_and_the_ladder_needs_it_again(cast):
    matter = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    assert opened(date(2026, 11, 16), matter) == [("phone", date(2026, 11, 16))]
    step = record_due(cast, matter, date(2026, 11, 16), phone(date(2026, 12, 31)))
    entry = LedgerEntry.objects.get(step=step)
    do_reverse_entry(entry.pk, actor=cast.office, reason="当日已报送办结材料，系误记", kind="recorded_in_error")
    step.refresh_from_db()
    assert step.status == "withdrawn" and "系误记" in step.closed_note
    assert ledger.unit_scores(2026)[entry.unit] == Decimal("3.0")
    # The next sweep does not climb to the written notice on the strength of a withdrawn call.
    assert opened(date(2026, 11, 23), matter) == [("phone", date(2026, 11, 16))]
    from duban.audit.models import AuditEvent
    assert AuditEvent.objects.filter(action="matter.step_withdrawn", object_id=str(matter.pk)).exists()


def test_3_a_reversal_for_an_accepted_explanation_keeps_the_step(cast):
    matter = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    opened(date(2026, 11, 16), matter)
    step = record_due(cast, matter, date(2026, 11, 16), phone(date(2026, 12, 31)))
    entry = LedgerEntry.objects.get(step=step)
    do_reverse_entry(entry.pk, actor=cast.office, reason="因上级政策调整延误，情况属实", kind="points_waived")
    step.refresh_from_db()
    assert step.status == "recorded"
    assert opened(date(2026, 11, 23), matter) == [("written_notice", date(2026, 11, 23))]
    with pytest.raises(Invalid) as bad:
        do_reverse_entry(entry.pk, actor=cast.office, reason="另一类", kind="no_such_kind")
    assert bad.value.field == "kind" and "系误记" in str(bad.value)


# --- 4. an approved extension re-times the ladder ----------------------------------------------------
def test_4_an_approved_extension_supersedes_open_steps_and_restarts_from_the_new_deadline(cast):
    matter = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    opened(date(2026, 11, 16), matter)
    phone_step = record_due(cast, matter, date(2026, 11, 16), phone(date(2026, 11, 18)))
    assert opened(date(2026, 11, 19), matter) == [("written_notice", date(2026, 11, 19))]
    notice_step = EscalationStep.objects.get(matter=matter, tier="written_notice")
    with as_of(date(2026, 11, 20)):
        request = actions.do_request_extension(matter.pk, actor=cast.lead_clerk, new_deadline=date(2026, 12, 4),
                                               reason="等待省级批复")
        actions.do_decide_request(request.pk, actor=cast.leader, approve=True, note="同意")
    notice_step.refresh_from_db()
    phone_step.refresh_from_db()
    assert notice_step.status == "superseded" and "重新起算" in notice_step.closed_note
    assert phone_step.status == "recorded" and LedgerEntry.objects.filter(step=phone_step).count() == 1  # kept
    for day in (date(2026, 11, 23), date(2026, 12, 4)):
        assert opened(day, matter) == [], day
    assert opened(date(2026, 12, 7), matter) == [("phone", date(2026, 12, 7))]  # the ladder starts again


# --- 5. each unit of a matter answers for its own part ---------------------------------------------
def signed_by_lead(cast, on: date, **assign):
    """A matter assigned to D01 with co-unit T01 as of ``on``; only the lead unit has signed."""
    with as_of(on):
        matter = to_state(cast, "assigned", **assign)
        actions.do_sign_for_receipt(matter.pk, actor=cast.lead_clerk)
    matter.refresh_from_db()
    return matter


def opened_to(on: date, matter) -> list[tuple[str, str, date]]:
    """(unit, tier, due day) of the steps the sweep of ``on`` opens for ``matter``."""
    with as_of(on):
        return sorted((o.step.unit.code, o.step.tier, o.step.due_on) for o in steps.sweep(on=on)
                      if o.step.matter_id == matter.pk)


def test_5_a_co_unit_late_on_its_own_part_is_escalated_and_bears_its_own_step(cast):
    """Each unit answers for its own part: the co-unit that never reported its part is phoned
    itself and, by the default pack's bearer rule (the unit addressed), bears that step."""
    matter = signed_by_lead(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    assert opened_to(date(2026, 11, 16), matter) == [("D01", "phone", date(2026, 11, 16)),
                                                     ("T01", "phone", date(2026, 11, 16))]
    co_step = EscalationStep.objects.get(matter=matter, unit__code="T01")
    with as_of(date(2026, 11, 16)):
        do_record_step(co_step.pk, actor=cast.staff, evidence=phone(date(2026, 11, 30)), on=date(2026, 11, 16))
    assert [(e.unit.code, e.amount) for e in LedgerEntry.objects.filter(step=co_step)] == [("T01", Decimal("0.1"))]
    assert not LedgerEntry.objects.filter(matter=matter, unit__code="D01").exists()


def test_5_a_co_unit_that_reported_its_part_on_time_is_not_escalated(world, cast):
    matter = signed_by_lead(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    with as_of(date(2026, 11, 10)):
        actions.do_sign_for_receipt(matter.pk, actor=cast.co_clerk)
        api = Client(HTTP_HOST=world.owner.host)
        api.force_login(cast.co_clerk)
        response = api.post(f"/api/v1/matters/{matter.pk}/report-part/", {"text": "一号镇负责的拆迁已完成。"},
                            content_type="application/json")
        assert response.status_code == 201, response.content
        again = api.post(f"/api/v1/matters/{matter.pk}/report-part/", {"text": "再报一次"},
                         content_type="application/json")
        assert again.status_code == 400 and "unit" in again.json()["error"]["fields"]
    with as_of(date(2026, 11, 10)), pytest.raises(actions.NotAllowed):
        actions.do_report_part(matter.pk, actor=cast.lead_clerk, text="牵头单位不报承办部分")
    assert opened_to(date(2026, 11, 16), matter) == [("D01", "phone", date(2026, 11, 16))]
    from duban.audit.models import AuditEvent
    assert AuditEvent.objects.filter(action="matter.report_part", object_id=str(matter.pk)).exists()


def test_5_a_redo_is_charged_to_the_units_whose_part_was_sent_back(cast):
    """六(五) deducts for redos; the unit charged is the one whose result was sent back — the lead
    unit unless the office leader names the co-unit whose part fell short."""
    with as_of(date(2026, 11, 2)):
        matter = to_state(cast, "in_progress", deadline=date(2026, 12, 31))
        for _ in range(3):  # the default pack deducts once per matter, on its third redo
            actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="已完成。")
            actions.do_send_back(matter.pk, actor=cast.office, reasons="一号镇承办部分缺少验收材料", units=["T01"])
    link = matter.units.get(unit__code="T01")
    assert link.part_reported_at is None  # its part is due again
    assert [(e.unit.code, e.amount) for e in LedgerEntry.objects.filter(matter=matter)] == [("T01", Decimal("0.1"))]
    other = to_state(cast, "in_progress", deadline=date(2026, 12, 31))
    with as_of(date(2026, 11, 2)):
        for _ in range(3):
            actions.do_report_result(other.pk, actor=cast.lead_clerk, text="已完成。")
            actions.do_send_back(other.pk, actor=cast.office, reasons="结果不达标")
    assert [e.unit.code for e in LedgerEntry.objects.filter(matter=other)] == ["D01"]
    with as_of(date(2026, 11, 2)):
        actions.do_report_result(other.pk, actor=cast.lead_clerk, text="已完成。")
        with pytest.raises(Invalid) as stranger:
            actions.do_send_back(other.pk, actor=cast.office, reasons="x", units=["T99"])
    assert stranger.value.field == "units"


def test_5_the_matter_page_shows_each_units_part_and_the_office_names_units_when_sending_back(world, cast):
    matter = signed_by_lead(cast, date(2026, 11, 2), deadline=date(2026, 12, 31))
    with as_of(date(2026, 11, 3)):
        actions.do_sign_for_receipt(matter.pk, actor=cast.co_clerk)
    matter.refresh_from_db()
    co = client_for(world, cast.co_clerk)
    page = co.get(f"/matters/{matter.pk}/").content.decode()
    assert "报送承办部分" in page and "未报送" in page.split('id="unit-T01"')[1].split("</tr>")[0]
    done = co.post(f"/matters/{matter.pk}/report-part/", {"text": "一号镇承办部分已完成。",
                                                          "expected_version": matter.version})
    assert done.status_code in (200, 302), done.content.decode()[:300]
    page = co.get(f"/matters/{matter.pk}/").content.decode()
    assert "已报送" in page.split('id="unit-T01"')[1].split("</tr>")[0]
    assert f'action="/matters/{matter.pk}/report-part/"' not in page  # once
    with as_of(date(2026, 11, 5)):
        actions.do_report_result(matter.pk, actor=cast.lead_clerk, text="已完成。")
    matter.refresh_from_db()
    office = client_for(world, cast.office)
    sent = office.post(f"/matters/{matter.pk}/send-back/", {"reasons": "一号镇承办部分缺少验收材料", "units": ["T01"],
                                                           "expected_version": matter.version})
    assert sent.status_code in (200, 302), sent.content.decode()[:300]
    assert matter.reports.get().review.charged_units == ["T01"]
    assert matter.units.get(unit__code="T01").part_reported_at is None
    timeline = office.get(f"/matters/{matter.pk}/").content.decode()
    assert "退回涉及：一号镇" in timeline


# --- 6. dates are checked ---------------------------------------------------------------------------
def test_6_a_step_dated_before_the_assignment_or_in_the_future_is_refused_everywhere(world, cast):
    matter = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    for day in (date(2020, 1, 6), date(2026, 10, 30), date(2030, 1, 7)):
        with pytest.raises(Invalid) as refused:
            do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=phone(day), on=day)
        assert refused.value.field == "on"
    api = Client(HTTP_HOST=world.owner.host, HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    for day in ("2020-01-06", "2030-01-07"):
        response = api.post("/api/v1/steps/", {"matter": matter.pk, "tier": "phone", "on": day, "reason": "主动督办",
                                               "evidence": phone(date(2026, 11, 30))}, content_type="application/json")
        assert response.status_code == 400 and "on" in response.json()["error"]["fields"], response.content
    assert not LedgerEntry.objects.filter(matter=matter).exists()
    web = client_for(world, cast.staff)
    opened(date(2026, 11, 16), matter)
    due = EscalationStep.objects.get(matter=matter, status="due")
    early = web.post(f"/steps/{due.pk}/record/", {"ev_contact": "王科长", "ev_contacted_at": "2026-11-16T10:00",
                                                  "ev_promised_date": "2026-11-30", "on": "2026-10-30"})
    assert early.status_code == 400 and 'id="id_on_error"' in early.content.decode()


def test_6_an_approved_change_may_not_set_a_deadline_that_has_passed(cast):
    matter = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    with as_of(date(2026, 11, 10)):
        request = actions.do_request_extension(matter.pk, actor=cast.lead_clerk, new_deadline=date(2026, 11, 20),
                                               reason="材料未到")
    with as_of(date(2026, 11, 26)), pytest.raises(Invalid) as refused:
        actions.do_decide_request(request.pk, actor=cast.leader, approve=True)
    assert refused.value.field == "new_deadline"
    matter.refresh_from_db()
    assert matter.deadline == date(2026, 11, 13)


# --- 7. the promised date ----------------------------------------------------------------------------
def test_7_the_promised_date_is_when_the_next_tier_can_fall_due(cast):
    calendar = county_calendar()
    soon = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    opened(date(2026, 11, 16), soon)
    record_due(cast, soon, date(2026, 11, 16), phone(date(2026, 11, 18)))  # promised within the gap
    assert opened(date(2026, 11, 18), soon) == []  # not before the promised date
    assert opened(date(2026, 11, 19), soon) == [("written_notice", date(2026, 11, 19))]
    late = assigned(cast, date(2026, 11, 2), deadline=date(2026, 11, 13))
    opened(date(2026, 11, 16), late)
    record_due(cast, late, date(2026, 11, 16), phone(date(2026, 12, 31)))  # later than the gap allows
    gap_due = calendar.add_working_days(date(2026, 11, 16), 5)[0]
    assert opened(gap_due - timedelta(days=1), late) == []
    assert opened(gap_due, late) == [("written_notice", gap_due)]


# --- 8. two kinds of criticism --------------------------------------------------------------------
def test_8_a_circular_names_units_for_criticism_without_deducting_and_criticises_county_wide_with(world, cast):
    """五(三) criticises laggards; 六(七) deducts 0.5 only for 全县通报批评."""

    circular_record(cast, on=date(2026, 11, 10))  # D01 has a matter overdue
    with as_of(date(2026, 11, 5)):
        led_by(cast, "T01", cast.co_clerk, deadline_working_days=3)  # and so has T01
    draft = do_draft_circular(actor=cast.staff, title="十一月督办事项落实情况通报",
                                        period_start=date(2026, 11, 1), period_end=date(2026, 11, 25))
    with pytest.raises(Invalid) as both:
        do_set_circular_lists(draft.pk, actor=cast.staff, praised=[], criticised=["D01"], named=["D01"])
    assert both.value.field == "named"
    do_set_circular_lists(draft.pk, actor=cast.staff, praised=[], criticised=["D01"], named=["T01"])
    published = do_publish_circular(draft.pk, actor=cast.office)
    entries = {(e.unit.code, e.amount) for e in LedgerEntry.objects.filter(circular=published)}
    assert entries == {("D01", Decimal("0.5"))}  # the unit named for criticism loses nothing
    assert set(ledger.unit_scores(2026).values()) >= {Decimal("2.5"), Decimal("3.0")}
    api = Client(HTTP_HOST=world.owner.host, HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    body = api.get(f"/api/v1/circulars/{published.pk}/").json()
    assert body["criticised"] == ["D01"] and body["named"] == ["T01"]
    page = client_for(world, cast.staff).get(f"/circulars/{published.pk}/").content.decode()
    assert 'id="named"' in page and "一号镇" in page.split('id="named"')[1].split("</p>")[0]
    assert "点名批评" in county_pack().schedule.rule("named_criticism").label.zh
