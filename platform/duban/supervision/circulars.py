"""Circulars (通报, the seed's 五(三)): how units did on leader-assigned matters in a period.

Supervision staff draft a circular — the system ranks every active unit over the period — and
name the units to praise and to criticise (鼓励先进，批评后进). Nothing goes out before the
office leader has reviewed it (办公室主管领导审核): publishing is theirs alone. Publishing
numbers the circular as an official document and posts, for every criticised unit, the pack's
"county-wide criticism" deduction (六(七)) to the points ledger.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db import transaction
from django.utils import timezone

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core import clock
from duban.core.county import county_pack
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.documents.numbering import next_notice_number
from duban.matters.models import MatterUnit, Notice, Review
from duban.matters.states import State
from duban.supervision import ledger
from duban.supervision.models import Circular, EscalationStep
from duban.supervision.steps import UNDER_WAY
from duban.units.models import Unit
from plugins.events import ScoringEvent

CRITICISM_EVENT = "criticism_circular"  # a core event every pack's schedule declares (全县通报批评, 六(七))
NAMED_EVENT = "named_criticism"  # 点名批评 (五(三)): deducts only if the pack's schedule gives it an amount


# --- the ranking -------------------------------------------------------------------------------
def _rate(on_time: int, assigned: int) -> float | None:
    return round(on_time / assigned, 4) if assigned else None


def ranking(period_start: date, period_end: date, *, on: date | None = None) -> list[dict]:
    """Every active unit's record over the period, best first.

    Per unit (as the lead unit of a matter): the matters assigned to it in the period (cancelled
    ones left out: they were withdrawn, not failed); of those, how many are due ``on`` (closed, or
    past their deadline — a matter still within its deadline is neither on time nor late yet),
    closed, closed on time (the local date of closing on or before the deadline) and closed late;
    the on-time rate (on time ÷ due; None when nothing is due); the matters overdue ``on`` (today
    by default; all its matters, not only this period's); the ladder steps recorded against it in
    the period by tier; and the redos charged to it in the period (the units a send-back named).

    Best first: on-time rate high to low (units with nothing due last), then fewer steps, fewer
    overdue matters, the unit code.
    """
    on = on or clock.today()
    tier_order = {tier.code: index for index, tier in enumerate(county_pack().tiers)}
    units = list(Unit.objects.filter(is_active=True).order_by("kind", "code"))
    leads = (MatterUnit.objects.filter(role=MatterUnit.Role.LEAD, unit__in=units)
             .select_related("matter"))
    in_period = [link for link in leads
                 if link.matter.assigned_on and period_start <= link.matter.assigned_on <= period_end
                 and link.matter.state != State.CANCELLED]
    overdue = Counter(MatterUnit.objects.filter(
        role=MatterUnit.Role.LEAD, unit__in=units, matter__state__in=UNDER_WAY, matter__deadline__lt=on)
        .values_list("unit_id", flat=True))
    steps: dict[int, Counter] = {}
    for unit_id, tier in EscalationStep.objects.filter(
            unit__in=units, status=EscalationStep.Status.RECORDED,
            recorded_on__range=(period_start, period_end)).values_list("unit_id", "tier"):
        steps.setdefault(unit_id, Counter())[tier] += 1
    codes = {unit.code: unit.pk for unit in units}
    redos: Counter = Counter()
    for review in Review.objects.filter(decision=Review.Decision.REDO).select_related("report__unit"):
        if period_start <= timezone.localtime(review.reviewed_at).date() <= period_end:
            for code in ledger.charged_units(review, review.report.unit.code):  # the units the redo was charged to
                if code in codes:
                    redos[codes[code]] += 1

    rows = []
    for unit in units:
        mine = [link.matter for link in in_period if link.unit_id == unit.pk]
        closed = [m for m in mine if m.state == State.CLOSED]
        on_time = [m for m in closed if m.closed_at and m.deadline
                   and timezone.localtime(m.closed_at).date() <= m.deadline]
        due = [m for m in mine if m.state == State.CLOSED or (m.deadline and m.deadline < on)]
        by_tier = steps.get(unit.pk, Counter())
        rows.append({
            "unit": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "assigned": len(mine),
            "due": len(due),
            "completed": len(closed),
            "on_time": len(on_time),
            "late": len(closed) - len(on_time),
            "on_time_rate": _rate(len(on_time), len(due)),
            "overdue": overdue.get(unit.pk, 0),
            "steps": dict(sorted(by_tier.items(), key=lambda item: (tier_order.get(item[0], 99), item[0]))),
            "steps_total": sum(by_tier.values()),
            "redos": redos.get(unit.pk, 0),
        })
    rows.sort(key=lambda r: (r["on_time_rate"] is None, -(r["on_time_rate"] or 0), r["steps_total"], r["overdue"],
                             r["unit"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


# --- what a circular may say of a unit ------------------------------------------------------------
def facts(row: dict, pack=None) -> str:
    """A unit's record over the period in the words of a circular, from its ranking row:
    承办督办事项3件，按期办结2件，逾期办结1件，超期未办结1件，被采取督办措施2次（电话、口头督办1次，书面督办1次），
    退回复办1次."""
    pack = pack or county_pack()
    parts = [f"承办督办事项{row.get('assigned', 0)}件"]
    if row.get("on_time"):
        parts.append(f"按期办结{row['on_time']}件")
    if row.get("late"):
        parts.append(f"逾期办结{row['late']}件")
    if row.get("overdue"):
        parts.append(f"超期未办结{row['overdue']}件")
    steps = [f"{_tier_label(pack, tier)}{count}次" for tier, count in (row.get("steps") or {}).items() if count]
    if steps:
        parts.append(f"被采取督办措施{sum((row.get('steps') or {}).values())}次（{'，'.join(steps)}）")
    if row.get("redos"):
        parts.append(f"退回复办{row['redos']}次")
    if len(parts) == 1 and not row.get("assigned"):
        return "无承办的督办事项"
    return "，".join(parts)


def _tier_label(pack, code: str) -> str:
    tier = pack.tier(code)
    return tier.label.zh if tier else code


def praise_shortfalls(row: dict, pack=None) -> list[str]:
    """Why the unit of ``row`` may not be praised under the pack's criterion ([] : it may)."""
    rule = (pack or county_pack()).circulars.praise
    found = []
    if row.get("on_time", 0) < rule.min_closed_on_time:
        found.append(f"本期按期办结督办事项{row.get('on_time', 0)}件（表扬须至少{rule.min_closed_on_time}件）")
    for key, limit, words in (("late", rule.max_closed_late, "逾期办结{n}件"), ("overdue", rule.max_overdue, "超期未办结{n}件"),
                              ("steps_total", rule.max_steps, "被采取督办措施{n}次"), ("redos", rule.max_redos, "退回复办{n}次")):
        if limit is not None and row.get(key, 0) > limit:
            found.append(words.format(n=row.get(key, 0)) + (f"（表扬须不超过{limit}）" if limit else ""))
    return found


def adverse_facts(row: dict) -> bool:
    return bool(row.get("overdue") or row.get("late") or row.get("steps_total") or row.get("redos"))


def sentence(kind: str, row: dict, pack=None) -> str:
    """The praise / named-criticism / county-wide-criticism sentence for the unit of ``row``."""
    pack = pack or county_pack()
    template = getattr(pack.circulars, f"{kind}_sentence")
    return template.format(unit=row.get("name") or row.get("unit"), facts=facts(row, pack))


def check_lists(rows: list[dict], praised: list[Unit], criticised: list[Unit], named: list[Unit], pack=None) -> None:
    """Refuse a list that the period's facts do not bear out, naming the unit and the fact."""
    pack = pack or county_pack()
    by_code = {row["unit"]: row for row in rows}
    empty = {"assigned": 0}
    for unit in praised:
        shortfalls = praise_shortfalls(by_code.get(unit.code, empty), pack)
        if shortfalls:
            raise Invalid(f"{unit.name}不符合通报表扬条件：{'；'.join(shortfalls)}。", field="praised")
    if pack.circulars.criticism_needs_fact:
        for units, field, words in ((criticised, "criticised", "全县通报批评"), (named, "named", "点名批评")):
            for unit in units:
                if not adverse_facts(by_code.get(unit.code, empty)):
                    raise Invalid(f"{unit.name}本期无超期未办结、逾期办结、被采取督办措施或退回复办的情况"
                                      f"（{facts(by_code.get(unit.code, empty), pack)}），不能{words}。", field=field)


# --- actions -----------------------------------------------------------------------------------
def _staff_only(actor, what: str):
    if getattr(actor, "role", None) != Role.SUPERVISION_STAFF:
        raise NotAllowed(f"only supervision staff {what}")


def _locked_circular(circular_id) -> Circular:
    try:
        circular_id = int(circular_id)
    except (TypeError, ValueError):
        raise NotFound(f"no circular {circular_id!r}") from None
    circular = Circular.objects.select_for_update().filter(pk=circular_id).first()
    if circular is None:
        raise NotFound(f"no circular {circular_id}")
    return circular


def _draft_only(circular: Circular):
    if circular.status != Circular.Status.DRAFT:
        raise Invalid(f"circular {circular.pk} is already {circular.get_status_display()} "
                          f"({circular.notice.number if circular.notice else '—'}); it can no longer change",
                          field="status")


@transaction.atomic
def do_draft_circular(*, actor, title: str, period_start: date, period_end: date) -> Circular:
    """Draft a circular over ``period_start``..``period_end`` with the units' ranking."""
    _staff_only(actor, "draft circulars")
    title = (title or "").strip()
    if not title:
        raise Invalid("title is required", field="title")
    if len(title) > 200:
        raise Invalid("title is longer than 200 characters", field="title")
    if not isinstance(period_start, date):
        raise Invalid("period_start must be a date", field="period_start")
    if not isinstance(period_end, date):
        raise Invalid("period_end must be a date", field="period_end")
    if period_end < period_start:
        raise Invalid(f"the period ends ({period_end}) before it starts ({period_start})", field="period_end")
    if period_start > clock.today():
        raise Invalid(f"the period starts in the future ({period_start})", field="period_start")
    rows = ranking(period_start, period_end)
    circular = Circular.objects.create(title=title, period_start=period_start, period_end=period_end, ranking=rows,
                                       drafted_by=actor)
    audit.record(actor=actor, action="circular.draft", obj=circular, after={
        "title": title, "period_start": period_start, "period_end": period_end,
        "ranking": [row["unit"] for row in rows]})
    return circular


def _codes(codes, field: str) -> list[Unit]:
    if isinstance(codes, str):
        raise Invalid(f"{field} is a list of unit codes", field=field)
    wanted = list(dict.fromkeys((code or "").strip() for code in (codes or [])))
    units = {u.code: u for u in Unit.objects.filter(code__in=wanted, is_active=True)}
    unknown = [code for code in wanted if code not in units]
    if unknown:
        raise Invalid(f"no active unit with code {', '.join(repr(c) for c in unknown)}", field=field)
    return [units[code] for code in wanted]


@transaction.atomic
def do_set_circular_lists(circular_id: int, *, actor, praised: list[str], criticised: list[str],
                          body: str = "", named: list[str] = ()) -> Circular:
    """Name the units praised, criticised county-wide (全县通报批评, deducts) and criticised by
    name (点名批评, no deduction unless the pack says so) — each unit in one list at most — and
    the circular's text."""
    _staff_only(actor, "edit circulars")
    circular = _locked_circular(circular_id)
    _draft_only(circular)
    good = _codes(praised, "praised")
    bad = _codes(criticised, "criticised")
    mentioned = _codes(named, "named")
    both = [u.code for u in good if u in bad]
    if both:
        raise Invalid(f"a unit cannot be both praised and criticised: {', '.join(both)}", field="criticised")
    twice = [u.code for u in mentioned if u in good or u in bad]
    if twice:
        raise Invalid(f"a unit named for criticism cannot also be praised or criticised county-wide: "
                          f"{', '.join(twice)}", field="named")
    check_lists(circular.ranking or [], good, bad, mentioned)
    before = {"praised": sorted(circular.praised.values_list("code", flat=True)),
              "criticised": sorted(circular.criticised.values_list("code", flat=True)),
              "named": sorted(circular.named.values_list("code", flat=True)), "body": circular.body}
    circular.praised.set(good)
    circular.criticised.set(bad)
    circular.named.set(mentioned)
    circular.body = (body or "").strip()
    circular.save(update_fields=["body"])
    audit.record(actor=actor, action="circular.lists", obj=circular, before=before, after={
        "praised": sorted(u.code for u in good), "criticised": sorted(u.code for u in bad),
        "named": sorted(u.code for u in mentioned), "body": circular.body})
    return circular


@transaction.atomic
def do_publish_circular(circular_id: int, *, actor) -> Circular:
    """The office leader reviews and publishes (审核后印发): the circular is numbered, and each
    criticised unit bears the pack's county-wide-criticism deduction, once."""
    if getattr(actor, "role", None) != Role.OFFICE_LEADER:
        raise NotAllowed("only the office leader publishes circulars (they review them before they go out)")
    circular = _locked_circular(circular_id)
    _draft_only(circular)
    day = clock.today()
    # The facts as of the day it goes out: the ranking is taken again, and the lists must still hold.
    circular.ranking = ranking(circular.period_start, circular.period_end, on=day)
    check_lists(circular.ranking, list(circular.praised.all()), list(circular.criticised.all()),
                list(circular.named.all()))
    seq, number = next_notice_number("circular", day.year)
    circular.notice = Notice.objects.create(kind="circular", year=day.year, seq=seq, number=number, issued_by=actor)
    circular.status = Circular.Status.PUBLISHED
    circular.published_by, circular.published_at, circular.published_on = actor, clock.now(), day
    circular.save(update_fields=["notice", "status", "published_by", "published_at", "published_on", "ranking"])
    criticised = list(circular.criticised.order_by("code"))
    named = list(circular.named.order_by("code"))
    audit.record(actor=actor, action="circular.publish", obj=circular, before={"status": Circular.Status.DRAFT},
                 after={"status": circular.status, "notice": number, "published_on": day,
                        "praised": sorted(circular.praised.values_list("code", flat=True)),
                        "criticised": [u.code for u in criticised], "named": [u.code for u in named]})
    for unit in criticised:
        ledger.post(ScoringEvent(code=CRITICISM_EVENT, unit=unit.code, lead_unit=unit.code, occurred_on=day,
                                 matter=None, ref=f"circular:{circular.pk}"), actor=actor, circular=circular)
    named_rule = county_pack().schedule.rule(NAMED_EVENT)
    if named_rule is not None and named_rule.amount > 0:
        for unit in named:
            ledger.post(ScoringEvent(code=NAMED_EVENT, unit=unit.code, lead_unit=unit.code, occurred_on=day,
                                     matter=None, ref=f"circular:{circular.pk}:named"), actor=actor, circular=circular)
    # The circular's PDF is made and read back now, in this transaction: a circular whose document
    # cannot carry its Chinese is not numbered (documents.pdf.check_pdf). Imported here: documents
    # are built from circulars, not the other way round.
    from duban.documents.service import document_for  # supervision.documents builds on circulars: by kind

    document_for("circular", circular, actor=actor)
    from duban.notifications import recipients
    from duban.notifications.service import notify

    notify("circular.published", recipients=recipients.everyone(), title=f"{number}：{circular.title}",
           body=f"表扬{len(circular.praised.all())}个单位，全县通报批评{len(criticised)}个单位，点名批评{len(named)}个单位。",
           url=f"/circulars/{circular.pk}/")
    return circular

