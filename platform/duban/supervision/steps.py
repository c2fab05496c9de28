"""Warning lights, the sweep that opens ladder steps, and recording steps with their evidence.

The ladder is the county's pack's ``tiers``, climbed in order (五(一) 依次): the sweep opens the
next due tier for the unit a matter is addressed to — as a to-do for supervision staff, or
recorded directly where the pack marks a tier ``automatic``. Opening is idempotent by a
database constraint, so two sweeps at once, or a sweep re-run after a worker was killed, open
each step exactly once.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from duban.audit import log as audit
from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.actions import action_scope
from duban.core.county import county_calendar, county_pack
from duban.core.errors import Invalid
from duban.documents.numbering import next_notice_number
from duban.matters.models import Feedback, Matter, MatterUnit, Notice
from duban.matters.states import State
from duban.notifications import recipients
from duban.notifications.service import notify
from duban.supervision import ledger
from duban.supervision.models import EscalationStep
from plugins.events import ScoringEvent
from plugins.manager import active_plugin_manager

UNDER_WAY = (State.ASSIGNED, State.IN_PROGRESS, State.REDO)


# --- lights ---------------------------------------------------------------------------------
GREEN, YELLOW, RED = "green", "yellow", "red"


def light(matter: Matter, on: date, calendar=None, pack=None) -> str | None:
    """green / yellow (within the pack's warning threshold of the deadline, in working days) /
    red (overdue, or behind its feedback cadence). None for matters not under way."""
    if matter.state not in UNDER_WAY or matter.deadline is None:
        return None
    if matter.deadline < on or (matter.feedback_due_on and matter.feedback_due_on < on):
        return RED
    calendar = calendar or county_calendar()
    pack = pack or county_pack()
    if calendar.working_days_between(on, matter.deadline) <= pack.calendar.warnings.yellow_working_days:
        return YELLOW
    return GREEN


def lights(on: date) -> dict[str, list[Matter]]:
    calendar, pack = county_calendar(), county_pack()
    board: dict[str, list[Matter]] = {RED: [], YELLOW: [], GREEN: []}
    for matter in Matter.objects.filter(state__in=UNDER_WAY).order_by("deadline", "number"):
        board[light(matter, on, calendar, pack)].append(matter)
    return board


# --- the sweep --------------------------------------------------------------------------------
class Opened:
    """A step the sweep opened: its key facts at once, and ``step`` (the model instance, with its
    matter and unit) read on first use — for every step of the same sweep in one query."""

    __slots__ = ("step_id", "matter_id", "unit_id", "tier", "due_on", "recorded", "_batch")

    def __init__(self, step_id: int, matter_id: int, unit_id: int, tier: str, due_on: date, recorded: bool,
                 batch: _OpenedBatch):
        self.step_id, self.matter_id, self.unit_id, self.tier = step_id, matter_id, unit_id, tier
        self.due_on, self.recorded, self._batch = due_on, recorded, batch

    @property
    def step(self) -> EscalationStep:
        return self._batch.step(self.step_id)

    def __repr__(self) -> str:
        return f"Opened(step={self.step_id}, matter={self.matter_id}, unit={self.unit_id}, tier={self.tier!r})"


class _OpenedBatch:
    """The steps one sweep opened, read together (in the county they were opened in) when the
    first of them is asked for: the sweep itself never needs them as model instances unless a
    tier is recorded automatically."""

    def __init__(self, ids: list[int]):
        self.ids, self.schema, self._steps = ids, connection.schema_name, None

    def step(self, pk: int) -> EscalationStep:
        if self._steps is None:
            with schema_context(self.schema):
                self._steps = EscalationStep.objects.select_related("matter", "unit").in_bulk(self.ids)
        return self._steps[pk]


def responsible(matter: Matter) -> MatterUnit | None:
    return matter.units.filter(role=MatterUnit.Role.LEAD).select_related("unit").first()


# What each unit of a matter answers for (its own part): the lead unit for the matter's result and
# everything the pack escalates; a co-operating unit for its own part by the deadline, until it has
# reported that part (do_report_part).
CO_UNIT_KINDS = ("deadline_missed",)


def late_on_own_part(link: MatterUnit) -> tuple[str, ...] | None:
    """The trigger kinds that concern ``link``'s unit (None: all of them), or () if none do."""
    if link.role == MatterUnit.Role.LEAD:
        return None
    return () if link.part_reported_at else CO_UNIT_KINDS


# Steps that count on the ladder (a withdrawn or superseded one is kept but counts as not taken).
ON_LADDER = (EscalationStep.Status.DUE, EscalationStep.Status.RECORDED, EscalationStep.Status.SKIPPED)
TAKEN = (EscalationStep.Status.RECORDED, EscalationStep.Status.SKIPPED)


def behind(matter: Matter, on: date, calendar, pack, last_feedback: date | None = None) -> dict[str, date]:
    """Why the matter is behind on ``on``: trigger kind → the day it fell behind.

    ``deadline_missed`` — past its deadline, not done (四(一) 在规定期限内未能完成的);
    ``feedback_overdue`` — its periodic progress feedback is late;
    ``check_due`` — a time-sensitive matter (时效性强) unchecked for the pack's cadence."""
    found: dict[str, date] = {}
    if matter.deadline and matter.deadline < on:
        found["deadline_missed"] = matter.deadline
    if matter.feedback_due_on and matter.feedback_due_on < on:
        found["feedback_overdue"] = matter.feedback_due_on
    if matter.time_sensitive:
        since = last_feedback or matter.assigned_on
        if since:
            check_on, _ = calendar.add_working_days(since, pack.calendar.time_sensitive_check_working_days)
            if check_on < on:
                found["check_due"] = check_on
    return found


def last_feedback_days(matter_ids) -> dict[int, date]:
    """Matter id → the county day of its latest progress feedback (one query for all)."""
    return {row["matter_id"]: timezone.localtime(row["last"]).date() for row in
            Feedback.objects.filter(matter_id__in=matter_ids).values("matter_id").annotate(last=Max("given_at"))}


def on_this_ladder(step: EscalationStep, matter: Matter) -> bool:
    """The step counts on the matter's present ladder: not withdrawn or superseded, and taken
    against the present deadline (an approved new deadline starts the ladder again)."""
    return step.status in ON_LADDER and (step.deadline is None or step.deadline == matter.deadline)


def next_tier_index(matter: Matter, unit) -> int:
    """The index in the pack's ladder of the next tier for ``unit`` on ``matter``: one past the
    highest taken on the present ladder."""
    reached = [s.tier_index for s in EscalationStep.objects.filter(matter=matter, unit=unit, status__in=TAKEN)
               if on_this_ladder(s, matter)]
    return max(reached, default=-1) + 1


def startable_tiers(matter: Matter, unit, pack) -> list:
    """The tiers staff may take on their own initiative for ``unit`` on ``matter``: the ladder is
    climbed in order — any tier up to the next one, and past the next one only over tiers the pack
    marks skippable."""
    following = next_tier_index(matter, unit)
    return [tier for index, tier in enumerate(pack.tiers)
            if index <= following or all(t.skippable for t in pack.tiers[following:index])]


def promised_date(step: EscalationStep, pack) -> date | None:
    """The completion date the unit promised when ``step`` was recorded (the tier's promise_field)."""
    tier = pack.tier(step.tier)
    if tier is None or not tier.promise_field:
        return None
    value = (step.evidence or {}).get(tier.promise_field)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def due_tier(matter: Matter, steps: list[EscalationStep], on: date, calendar, pack, hook,
             last_feedback: date | None = None, kinds: tuple[str, ...] | None = None):
    """The tier that falls due for a unit on ``on`` (given that unit's steps on the matter), and
    its due day — or None. ``kinds`` limits the trigger kinds that concern this unit (a
    co-operating unit answers only for its own part by the deadline).

    Timing (四、五(一)): a tier answers the trigger kinds the pack lists for it; the first falls
    due on the ``working_days``-th working day after the matter fell behind (0 or 1: the first
    working day after its deadline); each later tier that many working days after the previous
    tier was recorded, or on the first working day after the date the unit promised then, if
    that comes sooner. Due days are working days of the county's calendar, so a sweep on a rest
    day opens nothing new; a step is opened by the sweep of its due day."""
    current = [s for s in steps if on_this_ladder(s, matter)]
    if any(s.status == EscalationStep.Status.DUE for s in current):
        return None  # one open step at a time: staff record it first
    done = [s.tier for s in current if s.status in TAKEN]
    tier = hook.duban_next_tier(pack=pack, recorded=done)
    if tier is None:
        return None
    reasons = {kind: day for kind, day in behind(matter, on, calendar, pack, last_feedback).items()
               if kind in tier.trigger.answers and (kinds is None or kind in kinds)}
    if not reasons:
        return None  # late feedback or a due check that this tier does not answer: a reminder, no step
    gap = max(tier.trigger.working_days, 1)
    recorded = [s for s in current if s.status == EscalationStep.Status.RECORDED]
    if tier.trigger.basis == "deadline_passed" or not recorded:
        due_on, _ = calendar.add_working_days(min(reasons.values()), gap)
    else:
        last = max(recorded, key=lambda s: (s.recorded_on or s.due_on, s.id))
        since = last.recorded_on or last.due_on
        due_on, _ = calendar.add_working_days(since, gap)
        promised = promised_date(last, pack)
        if promised is not None:
            after_promise, _ = calendar.add_working_days(max(promised, since), 1)
            due_on = min(due_on, after_promise)
    if due_on > on:
        return None
    return tier, due_on


SWEEP_SKIPS = ("content", "requirements", "decision_comment", "source_reference", "proposed_at", "registered_at",
               "approved_at", "assigned_at", "closed_at", "created_at")

# What the sweep reads and writes in SQL. ``pair``: every (candidate matter, unit that answers for
# its part) with whether it has a step still due, or one taken, on the matter's present ladder.
# ``in_python``: the matters the ladder code below must decide (a unit that has climbed, or a
# time-sensitive matter whose first tier answers due checks). ``first_tier``: the units on no
# rung yet, with the day their matter fell behind in a way the first tier answers (NULL: none).
_PLAN = """
WITH cand AS (
    SELECT m.id, m.deadline, m.feedback_due_on, m.time_sensitive FROM {matter} m
    WHERE m.state = ANY(%(states)s) AND ({behind})
), pair AS (
    SELECT c.id AS matter_id, c.deadline, c.feedback_due_on, c.time_sensitive, l.id AS link_id, l.unit_id, l.role,
           coalesce(h.due, false) AS has_due, coalesce(h.taken, false) AS has_taken
    FROM cand c JOIN {link} l ON l.matter_id = c.id
    LEFT JOIN (
        SELECT s.matter_id, s.unit_id, bool_or(s.status = 'due') AS due, bool_or(s.status <> 'due') AS taken
        FROM {step} s JOIN cand c2 ON c2.id = s.matter_id
        WHERE s.status = ANY(%(on_ladder)s) AND (s.deadline IS NULL OR s.deadline = c2.deadline)
        GROUP BY s.matter_id, s.unit_id) h ON h.matter_id = c.id AND h.unit_id = l.unit_id
    WHERE l.role = 'lead' OR l.part_reported_at IS NULL
), in_python AS (
    SELECT DISTINCT matter_id FROM pair
    WHERE NOT has_due AND (has_taken OR (time_sensitive AND %(check_in_python)s))
), first_tier AS (
    SELECT p.matter_id, p.link_id, p.unit_id, p.role, p.deadline,
           LEAST(CASE WHEN p.deadline < %(on)s AND (CASE WHEN p.role = 'lead' THEN %(dm_lead)s ELSE %(dm_co)s END)
                      THEN p.deadline END,
                 CASE WHEN p.feedback_due_on < %(on)s AND (CASE WHEN p.role = 'lead' THEN %(fo_lead)s ELSE %(fo_co)s END)
                      THEN p.feedback_due_on END) AS behind_since
    FROM pair p
    WHERE %(first)s AND NOT p.has_due AND NOT p.has_taken AND p.matter_id NOT IN (SELECT matter_id FROM in_python)
)"""

_BEHIND_SQL = {"deadline_missed": "m.deadline < %(on)s", "feedback_overdue": "m.feedback_due_on < %(on)s",
               "check_due": "m.time_sensitive"}

_INSERT = """INSERT INTO {step} (matter_id, unit_id, tier, tier_index, status, source, pack_name, pack_version,
                                 due_on, deadline, opened_at, evidence, reply_text, skip_reason)
{plan}, due AS (
    SELECT f.matter_id, f.unit_id, %(tier)s::text AS tier, %(tier_index)s::int AS tier_index, d.due_on, f.deadline,
           f.role::text AS role, f.link_id
    FROM first_tier f JOIN unnest(%(days)s::date[], %(dues)s::date[]) AS d(day, due_on) ON d.day = f.behind_since
    UNION ALL
    SELECT * FROM unnest(%(p_matter)s::bigint[], %(p_unit)s::bigint[], %(p_tier)s::text[], %(p_index)s::int[],
                         %(p_due)s::date[], %(p_deadline)s::date[], %(p_role)s::text[], %(p_link)s::bigint[])
)
SELECT matter_id, unit_id, tier, tier_index, 'due', 'sweep', %(pack_name)s, %(pack_version)s, due_on, deadline,
       %(opened_at)s, '{{}}'::jsonb, '', ''
FROM due ORDER BY matter_id, role DESC, link_id
ON CONFLICT (matter_id, unit_id, tier, deadline)
    WHERE source = 'sweep' AND (status = 'due' OR status = 'recorded' OR status = 'skipped') DO NOTHING
RETURNING id, matter_id, unit_id, tier, due_on"""


def _sql(text: str, **more) -> str:
    return text.format(matter=Matter._meta.db_table, link=MatterUnit._meta.db_table,
                       step=EscalationStep._meta.db_table, **more)


def sweep(*, on: date | None = None, actor="sweep", set_based: bool = True) -> list[Opened]:
    """Open every step that is due in this county. Safe to run twice, concurrently, or again
    after a crash: the database lets each (matter, unit, tier, deadline) be opened by the sweep
    once while it counts (INSERT … ON CONFLICT DO NOTHING on the partial unique index
    sweep_opens_each_tier_once).

    Each unit of a matter climbs its own ladder for its own part (``late_on_own_part``): the lead
    unit for the matter's result, each co-operating unit that has not reported its part by the
    deadline. Whom a step's deduction falls on is the pack's ``bearer`` rule.

    Only what the pack escalates is looked at (its first tier's ``answers``; the default pack:
    missed deadlines). Late feedback and due checks are the reminders' business.

    Set-based: the units on no rung of the present ladder yet — nearly every step a sweep opens —
    are found and written by the database in one INSERT … SELECT; the only thing it is told is
    the first tier (from the pack's ``duban_next_tier`` hook) and, for each day matters fell
    behind on, the working day the tier falls due (from the county's calendar). Matters where a
    unit has climbed already (or a first tier answering due checks meets a time-sensitive
    matter) are decided by ``due_tier`` in Python and written by the same statement. Per county:
    one statement to plan, one to write the steps, one for their audit rows; nothing to open
    costs the first only. ``set_based=False`` decides every matter in Python — the reference the
    set-based path is tested against (tests/test_sweep_bulk.py)."""
    on = on or clock.today()
    pack = county_pack()
    hook = active_plugin_manager().hook
    first = hook.duban_next_tier(pack=pack, recorded=[]) if set_based else None
    params = _plan_params(on, pack, first)
    plan = _plan_sql(pack)
    calendar = None
    mapping: dict[date, date] = {}
    if set_based:
        with connection.cursor() as cursor:
            cursor.execute(plan + "\nSELECT DISTINCT behind_since, NULL::bigint FROM first_tier "
                                  "WHERE behind_since IS NOT NULL UNION ALL SELECT NULL, matter_id FROM in_python",
                           params)
            found = cursor.fetchall()
        if not found:
            return []
        python_ids = [matter_id for _, matter_id in found if matter_id is not None]
        days = [day for day, _ in found if day is not None]
        if days:
            calendar = county_calendar()
            gap = max(first.trigger.working_days, 1)
            for day in days:
                due_on, _ = calendar.add_working_days(day, gap)
                if due_on <= on:
                    mapping[day] = due_on
        matters = _ladder_matters(Matter.objects.filter(pk__in=python_ids)) if python_ids else []
    else:
        kinds = pack.escalated_triggers
        behind_by = {"deadline_missed": Q(deadline__lt=on), "feedback_overdue": Q(feedback_due_on__lt=on),
                     "check_due": Q(time_sensitive=True)}
        matters = _ladder_matters(Matter.objects.filter(state__in=UNDER_WAY)
                                  .filter(reduce(or_, (behind_by[k] for k in kinds))))
    rows = []
    if matters:
        calendar = calendar or county_calendar()
        rows = due_in_python(matters, on, calendar, pack, hook)
    if not rows and not mapping:
        return []
    return _open_many(rows, pack, actor=actor, on=on, first_tier=(plan, params, mapping))


def _plan_sql(pack) -> str:
    return _sql(_PLAN, behind=" OR ".join(_BEHIND_SQL[k] for k in pack.escalated_triggers))


def _plan_params(on: date, pack, first) -> dict:
    answers = first.trigger.answers if first is not None else ()
    return {"states": [str(s) for s in UNDER_WAY], "on": on, "on_ladder": [str(s) for s in ON_LADDER],
            "first": first is not None, "check_in_python": "check_due" in answers,
            "dm_lead": "deadline_missed" in answers, "dm_co": "deadline_missed" in answers and "deadline_missed" in CO_UNIT_KINDS,
            "fo_lead": "feedback_overdue" in answers,
            "fo_co": "feedback_overdue" in answers and "feedback_overdue" in CO_UNIT_KINDS,
            "tier": first.code if first is not None else "", "tier_index": pack.tier_index(first.code) if first else 0}


def _ladder_matters(queryset) -> list[Matter]:
    """The matters with the columns the ladder reads (the texts and workflow timestamps stay)."""
    return list(queryset.filter(state__in=UNDER_WAY).defer(*SWEEP_SKIPS).order_by("id"))


def due_in_python(matters: list[Matter], on: date, calendar, pack, hook) -> list[tuple]:
    """The steps ``due_tier`` finds due on ``on`` for each unit of ``matters``, as rows
    (matter, unit, tier code, tier index, due day, deadline, link role, link id). Their units,
    steps and last feedback are read in bulk: a constant number of queries."""
    kinds = pack.escalated_triggers
    ids = [m.pk for m in matters]
    links: dict[int, list[MatterUnit]] = {}
    for link in MatterUnit.objects.filter(matter_id__in=ids).order_by("matter_id", "-role", "id"):
        links.setdefault(link.matter_id, []).append(link)
    steps_of: dict[tuple[int, int], list[EscalationStep]] = {}
    for step in EscalationStep.objects.filter(matter_id__in=ids, status__in=ON_LADDER).order_by("tier_index", "id"):
        steps_of.setdefault((step.matter_id, step.unit_id), []).append(step)
    sensitive = [m.pk for m in matters if m.time_sensitive] if "check_due" in kinds else []
    last_feedback = last_feedback_days(sensitive) if sensitive else {}
    rows = []
    for matter in matters:
        for link in links.get(matter.pk, []):
            concerns = late_on_own_part(link)
            if concerns == ():
                continue
            found = due_tier(matter, steps_of.get((matter.pk, link.unit_id), []), on, calendar, pack, hook,
                             last_feedback.get(matter.pk), kinds=concerns)
            if found is not None:
                tier, due_on = found
                rows.append((matter.pk, link.unit_id, tier.code, pack.tier_index(tier.code), due_on, matter.deadline,
                             str(link.role), link.pk))
    return rows


def _open_many(rows: list[tuple], pack, *, actor, on, first_tier: tuple | None = None) -> list[Opened]:
    """Write the steps of ``rows`` (decided in Python: matter, unit, tier code, tier index, due
    day, deadline, link role, link id) and, given ``first_tier`` (the plan, its parameters and
    the due day of each day matters fell behind on), the first-tier steps the database finds —
    one INSERT … SELECT … ON CONFLICT DO NOTHING — then their audit rows in one statement, and
    record those of an automatic tier."""
    if first_tier is None:
        plan, params, mapping = _plan_sql(pack), _plan_params(on, pack, None), {}
    else:
        plan, params, mapping = first_tier
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    params = {**params, "days": list(mapping), "dues": list(mapping.values()),
              **{name: list(values) for name, values in zip(
                  ("p_matter", "p_unit", "p_tier", "p_index", "p_due", "p_deadline", "p_role", "p_link"),
                  columns, strict=True)},
              "pack_name": pack.name, "pack_version": pack.version, "opened_at": clock.now()}
    with action_scope():
        with connection.cursor() as cursor:
            # What a sweep opens it opens again: its commit need not wait for the WAL flush. A
            # database crash can lose the last fraction of a second of opened steps (with their
            # audit rows, in this transaction); the next sweep opens them again — the unique index
            # keeps it once. Local to this transaction, and only while it records nothing: an
            # automatic tier's recording (a deduction, dated today) waits for the flush, as every
            # other action does (docs/operations.md).
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(_sql(_INSERT, plan=plan), params)
            inserted = sorted(cursor.fetchall())
        _audit_opened([pk for pk, *_ in inserted], actor)
        batch = _OpenedBatch([pk for pk, *_ in inserted])
        opened, durable = [], False
        for pk, matter_id, unit_id, code, due_on in inserted:
            tier = pack.tier(code)
            recorded = tier.mode == "automatic"
            if recorded:
                if not durable:  # a deduction is about to be posted: this commit waits for the flush
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO ON")
                    durable = True
                record_step(batch.step(pk), tier, pack, evidence={"recorded_by": "system"}, actor=actor, on=on)
            opened.append(Opened(pk, matter_id, unit_id, code, due_on, recorded, batch))
        return opened


def _audit_opened(step_ids: list[int], actor) -> None:
    """The two audit events of each step the sweep opened (step.open on the step,
    matter.step_opened on its matter), written by one INSERT … SELECT: the database builds the
    rows from the steps just written instead of the client quoting hundreds of JSON values."""
    if not step_ids:
        return
    user = actor if hasattr(actor, "_meta") else None
    tables = {"audit": AuditEvent._meta.db_table, "step": EscalationStep._meta.db_table,
              "matter": Matter._meta.db_table, "unit": MatterUnit._meta.get_field("unit").related_model._meta.db_table}
    at, label = timezone.now(), audit.actor_label(actor)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {tables["audit"]} (at, actor_id, actor_label, action, object_type, object_id, before, after, note)
                SELECT %s, %s, %s, e.action, e.object_type, e.object_id, NULL, e.after, ''
                FROM {tables["step"]} s
                JOIN {tables["matter"]} m ON m.id = s.matter_id
                JOIN {tables["unit"]} u ON u.id = s.unit_id
                CROSS JOIN LATERAL (VALUES
                    (1, 'step.open', 'supervision.escalationstep', s.id::text,
                     jsonb_build_object('matter', m.number, 'unit', u.code, 'tier', s.tier,
                                        'due_on', to_char(s.due_on, 'YYYY-MM-DD'), 'source', 'sweep')),
                    (2, 'matter.step_opened', 'matters.matter', s.matter_id::text,
                     jsonb_build_object('tier', s.tier, 'unit', u.code, 'step', s.id))
                ) AS e(n, action, object_type, object_id, after)
                WHERE s.id = ANY(%s)
                ORDER BY s.id, e.n""",
            [at, user.pk if user else None, label, list(step_ids)])


# --- recording ----------------------------------------------------------------------------------
def validate_evidence(tier, evidence: dict) -> dict:
    """Check ``evidence`` against the fields the tier requires; 400-style errors name the field."""
    if not isinstance(evidence, dict):
        raise Invalid(_("督办记录的格式不正确。"), field="evidence")
    unknown = set(evidence) - {f.code for f in tier.evidence}
    if unknown:
        raise Invalid(_("%(tier)s没有这一项记录，应记录：%(fields)s。") % {
            "tier": tier.label.get(get_language() or "zh-hans"),
            "fields": "、".join(f.label.get(get_language() or "zh-hans") for f in tier.evidence)},
            field=f"evidence.{sorted(unknown)[0]}")
    clean = {}
    for field in tier.evidence:
        value = evidence.get(field.code)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            if field.required:
                raise Invalid(_("记录%(tier)s须填写%(field)s。") % {
                    "tier": tier.label.get(get_language() or "zh-hans"),
                    "field": field.label.get(get_language() or "zh-hans")}, field=f"evidence.{field.code}")
            continue
        try:
            if field.kind == "date":
                value = value if isinstance(value, date) else date.fromisoformat(str(value))
            elif field.kind == "datetime":
                value = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            elif field.kind == "number":
                value = float(value)
        except ValueError:
            raise Invalid(_("%(field)s填写的“%(value)s”格式不正确。") % {
                "field": field.label.get(get_language() or "zh-hans"), "value": value}, field=f"evidence.{field.code}") from None
        clean[field.code] = value
    return clean


def record_step(step: EscalationStep, tier, pack, *, evidence: dict, actor, on: date) -> EscalationStep:
    """Mark ``step`` recorded on ``on`` with its checked evidence: the tier's notice numbered, its
    deduction posted, the unit notified. Runs in the caller's transaction (an action's, or the
    sweep's batch)."""
    step.status, step.recorded_on, step.recorded_at = EscalationStep.Status.RECORDED, on, clock.now()
    step.recorded_by = actor if hasattr(actor, "_meta") else None
    step.evidence = evidence
    fields = ["status", "recorded_on", "recorded_at", "recorded_by", "evidence"]
    if tier.document:
        seq, number = next_notice_number(tier.document, on.year)
        step.notice = Notice.objects.create(
            kind=tier.document, year=on.year, seq=seq, number=number, matter=step.matter, unit=step.unit,
            issued_by=actor if hasattr(actor, "_meta") else step.matter.assigned_by)
        fields.append("notice")
        if tier.reply_deadline_working_days:
            step.reply_due_on = county_calendar().add_working_days(on, tier.reply_deadline_working_days)[0]
            fields.append("reply_due_on")
    step.save(update_fields=fields)
    audit.record(actor=actor, action="step.record", obj=step, after={
        "tier": step.tier, "unit": step.unit.code, "recorded_on": on, "evidence": evidence,
        "notice": step.notice.number if step.notice else None})
    audit.record(actor=actor, action="matter.step_recorded", obj=step.matter,
                 after={"tier": step.tier, "unit": step.unit.code, "step": step.pk,
                        "notice": step.notice.number if step.notice else None})
    if tier.deduction_event:
        lead = responsible(step.matter)
        event = ScoringEvent(code=tier.deduction_event, unit=step.unit.code, occurred_on=on,
                             matter=step.matter.number, lead_unit=lead.unit.code if lead else step.unit.code,
                             ref=f"step:{step.pk}")
        ledger.post(event, actor=actor, matter=step.matter, step=step)
    matter = step.matter
    # The last tier of the ladder (责任追究 in the default pack) is urgent: it reaches the unit's
    # people even in their quiet hours (docs/identity.md ("Channels that reach a person")).
    urgent = bool(pack.tiers) and tier.code == pack.tiers[-1].code
    if step.notice:
        notify("notice.issued", recipients=recipients.unit_staff([step.unit]), matter=matter,
               url=recipients.matter_url(matter), title=f"{step.notice.number}：{matter.title}", urgent=urgent,
               body=(f"{tier.label.zh}。" + (f"请于{step.reply_due_on:%Y年%-m月%-d日}前专题答复。" if step.reply_due_on else "")))
    else:
        notify("step.recorded", recipients=recipients.unit_staff([step.unit]), matter=matter,
               url=recipients.matter_url(matter), title=f"{tier.label.zh}：{matter.title}", urgent=urgent,
               body=f"{matter.number} 已于{on:%Y年%-m月%-d日}{tier.label.zh}，请加快办理。")
    return step


def check_step_day(matter: Matter, on: date) -> date:
    """The day a step is recorded as taken: not before the matter was assigned, not in the future
    (the same rule for the API, the web form and the CLI)."""
    if not isinstance(on, date):
        raise Invalid(_("督办日期应为日期（格式：2026-12-01）。"), field="on")
    if on > clock.today():
        raise Invalid(_("督办日期（%(day)s）不能晚于今天。") % {"day": date_format(on)}, field="on")
    if matter.assigned_on and on < matter.assigned_on:
        raise Invalid(_("督办日期（%(day)s）不能早于事项交办日期（%(assigned)s）。")
                      % {"day": date_format(on), "assigned": date_format(matter.assigned_on)}, field="on")
    return on


