"""The set-based sweep opens what the ladder code decides, with the same rows and the same news.

``steps.sweep()`` finds the units on no rung of the ladder yet in SQL and writes their steps
with one INSERT … SELECT; ``steps.sweep(set_based=False)`` decides every matter with
``due_tier`` in Python (the reference). On a county full of different cases — lead units and
co-units, parts reported or not, a deadline moved (steps superseded), a step withdrawn as
recorded in error, climbed ladders with promised dates, late feedback, time-sensitive matters —
each day for five weeks (weekends and a holiday included) both are run on the same state, the
reference rolled back, and everything they wrote is compared: the steps, their audit rows, the
ledger, the notifications and their deliveries. Under the default pack (manual tiers: no
notification) and under a pack whose first tier the sweep records itself (a deduction and a
notification per step), installed like any vendor's pack.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, proposed, to_state
from packs_fixture import on_path, pip_install

from duban.audit.models import AuditEvent
from duban.core.actions import action_scope
from duban.core.clock import as_of
from duban.matters import actions
from duban.notifications.models import Delivery, Notification
from duban.supervision import steps
from duban.supervision.actions import do_record_step, do_reverse_entry
from duban.supervision.models import EscalationStep, LedgerEntry
from tenants import provisioning

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

START = date(2026, 9, 14)
DAYS = [START + timedelta(days=n) for n in range(36)]  # includes the National Day holiday (10月1日–8日)


def phone(promised: date) -> dict:
    return {"contact": "王科长", "contacted_at": f"{promised}T10:00", "promised_date": promised.isoformat()}


def build(cast) -> None:
    """Matters in every situation the sweep meets, assigned as of the end of August."""
    with as_of(date(2026, 8, 31)):
        to_state(cast, "in_progress", deadline=date(2026, 9, 15))                      # lead only (part reported)
        to_state(cast, "in_progress", deadline=date(2026, 9, 22))
        to_state(cast, "in_progress", deadline=date(2026, 12, 31))                     # not overdue
        for deadline in (date(2026, 9, 16), date(2026, 9, 30)):                        # co-unit's part not reported
            matter = to_state(cast, "assigned", deadline=deadline)
            actions.do_sign_for_receipt(matter.pk, actor=cast.lead_clerk)
        to_state(cast, "in_progress", deadline=date(2026, 12, 31), feedback_every_working_days=5)
        matter = proposed(cast, time_sensitive=True)                                  # time-sensitive
        actions.do_register_matter(matter.pk, actor=cast.staff)
        actions.do_approve_matter(matter.pk, actor=cast.leader, comment="同意")
        actions.do_assign_matter(matter.pk, actor=cast.staff, lead_unit="D01", co_units=["T01"],
                                 requirements="按期办结", deadline=date(2026, 9, 18))
        actions.do_sign_for_receipt(matter.pk, actor=cast.lead_clerk)
        moved = to_state(cast, "in_progress", deadline=date(2026, 9, 15))             # deadline moved later on
    return moved


def snapshot(opened: list, since: dict) -> dict:
    """What a sweep wrote, with ids replaced by what the rows stand for."""
    keys = {s.pk: (s.matter_id, s.unit_id, s.tier, s.deadline) for s in EscalationStep.objects.all()}

    def ref(value: str):
        return keys[int(value.split(":")[1])] if value.startswith("step:") else value

    entries = {e.pk: (e.unit_id, e.rule_code, ref(e.ref), e.amount) for e in LedgerEntry.objects.all()}

    def key(obj_type, obj_id):
        return {"supervision.escalationstep": keys, "supervision.ledgerentry": entries}.get(obj_type, {}).get(
            int(obj_id) if obj_id.isdigit() else obj_id, obj_id)

    def plain(after):
        return {k: (keys[v] if k == "step" and isinstance(v, int) else ref(v) if k == "ref" else v)
                for k, v in (after or {}).items()}

    return {
        "opened": [(keys[o.step_id], o.due_on, o.recorded) for o in opened],
        "opened_steps": [(keys[o.step.pk], o.step.matter.number, o.step.unit.code, o.step.due_on) for o in opened],
        "steps": sorted((keys[s.pk], s.tier_index, s.status, s.source, s.pack_name, s.pack_version, s.due_on,
                         s.recorded_on, s.evidence, s.notice_id is not None, s.reply_due_on)
                        for s in EscalationStep.objects.filter(pk__gt=since["step"])),
        "audit": [(a.actor_label, a.action, a.object_type, key(a.object_type, a.object_id), plain(a.after), a.note)
                  for a in AuditEvent.objects.filter(pk__gt=since["audit"]).order_by("pk")],
        "ledger": [(e.unit_id, e.year, e.occurred_on, e.amount, e.event_code, e.rule_code, e.reason,
                    ref(e.ref))
                   for e in LedgerEntry.objects.filter(pk__gt=since["ledger"]).order_by("pk")],
        "notifications": [(n.recipient_id, n.event, n.title, n.body, n.url, n.matter_id, n.dedupe_key,
                           sorted(d.channel for d in n.deliveries.all()))
                          for n in Notification.objects.filter(pk__gt=since["notification"]).order_by("pk")],
    }


def marks() -> dict:
    last = {"step": EscalationStep, "audit": AuditEvent, "ledger": LedgerEntry, "notification": Notification,
            "delivery": Delivery}
    return {name: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
            for name, model in last.items()}


def both_ways(day: date) -> tuple[dict, dict]:
    """The reference sweep of ``day`` (rolled back) and the set-based one (kept)."""
    with as_of(day), action_scope():
        since = marks()
        point = transaction.savepoint()
        reference = snapshot(steps.sweep(on=day, actor="sweep", set_based=False), since)
        transaction.savepoint_rollback(point)
        bulk = snapshot(steps.sweep(on=day, actor="sweep"), since)
    return reference, bulk


def walk(cast, moved) -> dict:
    """Sweep each day both ways; in between, staff record the due phone steps (promising dates),
    a deduction is reversed as recorded in error, and a deadline is moved. Returns totals."""
    totals = {"opened": 0, "in_python": 0, "notifications": 0, "days_with_steps": 0}
    for day in DAYS:
        reference, bulk = both_ways(day)
        assert bulk == reference, (day, [(r, b) for r, b in zip(reference["audit"], bulk["audit"], strict=False) if r != b][:2])
        totals["opened"] += len(bulk["opened"])
        totals["notifications"] += len(bulk["notifications"])
        totals["days_with_steps"] += bool(bulk["opened"])
        totals["in_python"] += sum(1 for k, *_ in bulk["opened"] if k[2] != "phone")
        due = list(EscalationStep.objects.filter(status="due", tier="phone").order_by("pk"))
        with as_of(day):
            for n, step in enumerate(due):
                if day.weekday() < 5 and n % 2 == 0:
                    do_record_step(step.pk, actor=cast.staff, evidence=phone(day + timedelta(days=3 + n)), on=day)
            if day == date(2026, 9, 21):
                entry = LedgerEntry.objects.filter(step__tier="phone", reverses__isnull=True).order_by("pk").first()
                if entry is not None:
                    do_reverse_entry(entry.pk, actor=cast.office, reason="电话督办系误记", kind="recorded_in_error")
            if day == date(2026, 9, 22):
                request = actions.do_request_extension(moved.pk, actor=cast.lead_clerk,
                                                       new_deadline=date(2026, 9, 29), reason="材料未到")
                actions.do_decide_request(request.pk, actor=cast.leader, approve=True)
    return totals


def test_the_set_based_sweep_writes_what_the_ladder_code_decides_under_the_default_pack(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        cast = make_cast()
        moved = build(cast)
        totals = walk(cast, moved)
    # The walk met every path: first tiers in SQL, climbed ladders in Python, on several days.
    assert totals["opened"] >= 10 and totals["in_python"] >= 2 and totals["days_with_steps"] >= 4, totals
    assert totals["notifications"] == 0  # a manual tier is a to-do for staff: nobody is notified


@pytest.fixture(scope="module")
def sweep_pack_dir(tmp_path_factory):
    return pip_install(tmp_path_factory.mktemp("packs") / "sweep", "duban-pack-sweep")


def test_the_set_based_sweep_records_an_automatic_tier_with_the_same_deductions_and_notifications(
        world, settings, tmp_path, sweep_pack_dir):
    settings.MEDIA_ROOT = tmp_path / "media"
    with on_path(sweep_pack_dir):
        county = provisioning.set_rulepack("alpha", "county_sweep_check", actor="tests")
        with tenant_context(county):
            cast = make_cast()
            moved = build(cast)
            seen: list[str] = []
            with connection.execute_wrapper(lambda execute, sql, *rest: seen.append(sql) or execute(sql, *rest)):
                totals = walk(cast, moved)
            assert totals["opened"] >= 10 and totals["notifications"] >= 10, totals
            # A sweep that records a deduction commits it durably (the flush it otherwise skips).
            assert "SET LOCAL synchronous_commit TO ON" in seen
            # Each automatic step: recorded by the system, its deduction posted, its unit's staff told.
            recorded = EscalationStep.objects.filter(tier="phone", evidence={"recorded_by": "system"})
            assert recorded.count() >= 10
            for step in recorded:
                assert LedgerEntry.objects.filter(ref=f"step:{step.pk}", reverses__isnull=True).count() == 1
                notes = Notification.objects.filter(event="step.recorded", matter=step.matter, recipient__unit=step.unit,
                                                    title=f"电话、口头督办：{step.matter.title}",
                                                    body__startswith=f"{step.matter.number} 已于")
                assert notes.exists() and all(note.deliveries.exists() for note in notes)


def test_only_the_sweeps_own_transaction_commits_without_waiting_for_the_wal_flush(world):
    """The sweep's writes are idempotent (a lost commit is opened again by the next sweep), so its
    transaction sets synchronous_commit off — LOCAL, before its writes; recording the step, which
    deducts points, is an ordinary action and does not (nor does a sweep that records an automatic
    tier: the automatic-tier test above)."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with tenant_context(world.alpha):
        cast = make_cast()
        with as_of(date(2026, 9, 1)):
            to_state(cast, "in_progress", deadline_working_days=10)
        with as_of(date(2026, 11, 20)), connection.execute_wrapper(record):
            opened = steps.sweep()
        assert opened, "an overdue matter: the sweep opens its first step"
        position = seen.index("SET LOCAL synchronous_commit TO OFF")
        assert any(sql.lstrip().upper().startswith(("INSERT", "WITH")) for sql in seen[position + 1:])
        assert not any("synchronous_commit" in sql for sql in seen[:position])
        seen.clear()
        with as_of(date(2026, 11, 21)), connection.execute_wrapper(record):
            do_record_step(opened[0].step_id, actor=cast.staff, evidence=phone(date(2026, 12, 1)))
        assert seen and not any("synchronous_commit" in sql for sql in seen)
