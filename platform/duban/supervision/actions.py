"""Supervision's writes: recording ladder steps and the units' replies, reversing ledger entries,
circulars and inspection results.

Each public ``do_*`` is an action (``duban.core.actions``): one transaction, durable when called
from a view, a task or a command, joined when another action calls it. The rules they apply stay
with the records they concern (``steps``: the ladder and evidence; ``ledger``: the arithmetic;
``circulars``: the ranking and its lists; ``inspection``: the window).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core import clock
from duban.core.actions import action
from duban.core.county import county_pack
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.documents.numbering import next_notice_number
from duban.matters import access as matters_access
from duban.matters.actions import do_attach_file
from duban.matters.models import Matter, MatterUnit, Notice
from duban.notifications import recipients
from duban.notifications.service import notify
from duban.supervision import circulars, inspection, ledger, steps
from duban.supervision.documents import circular_document
from duban.supervision.ladder import take_off_ladder
from duban.supervision.models import Circular, EscalationStep, InspectionItem, LedgerEntry
from duban.units.models import Unit
from plugins.events import ScoringEvent
from plugins.manager import active_plugin_manager


def _staff_only(actor, what: str):
    if getattr(actor, "role", None) != Role.SUPERVISION_STAFF:
        raise NotAllowed(_("只有督查督办人员可以%(what)s。") % {"what": what})


# --- ladder steps -----------------------------------------------------------------------------
@action
def do_record_step(step_id: int, *, actor, evidence: dict, on: date | None = None) -> EscalationStep:
    """Record a step the sweep opened, with the evidence the pack requires for its tier."""
    _staff_only(actor, _("记录督办措施"))
    step = EscalationStep.objects.select_for_update().select_related("matter", "unit").filter(pk=step_id).first()
    if step is None:
        raise NotFound(_("没有找到这项督办措施。"))
    if step.status != EscalationStep.Status.DUE:
        raise Invalid(_("这项督办措施%(status)s。") % {"status": step.get_status_display()}, field="status")
    pack = county_pack()
    tier = pack.tier(step.tier)
    if tier is None:
        raise Invalid(_("本县督办规则中没有这一级督办措施，请联系管理员。"), field="tier")
    clean = steps.validate_evidence(tier, evidence)
    on = steps.check_step_day(step.matter, on or clock.today())
    return steps.record_step(step, tier, pack, evidence=clean, actor=actor, on=on)


@action
def do_record_manual_step(matter_id: int, *, actor, tier: str, evidence: dict, unit: str | None = None,
                          on: date | None = None, reason: str = "") -> EscalationStep:
    """Staff take a step the sweep did not open (a time-sensitive check, another phone call).
    The ladder is climbed in order: a tier above the next one needs every tier between to be
    skippable. ``reason`` (why staff started it) is the note of the step's opening."""
    _staff_only(actor, _("记录督办措施"))
    matter = matters_access.access_matter_by_id(actor, matter_id, for_update=True)
    if matter.state not in steps.UNDER_WAY:
        raise Invalid(_("%(state)s的事项不再督办。") % {"state": matter.get_state_display()}, field="matter")
    pack = county_pack()
    wanted = pack.tier(tier)
    if wanted is None:
        raise Invalid(_("督办措施不正确，可选：%(choices)s。")
                      % {"choices": "、".join(t.label.get(get_language() or "zh-hans") for t in pack.tiers)}, field="tier")
    link = (matter.units.filter(unit__code=unit).select_related("unit").first() if unit else steps.responsible(matter))
    if link is None:
        raise Invalid(_("该单位不是本事项的承办单位。"), field="unit")
    if EscalationStep.objects.filter(matter=matter, unit=link.unit, status=EscalationStep.Status.DUE).exists():
        raise Invalid(_("本事项已有一项待办督办措施（由自动巡查或督查检查生成），请先记录或跳过该项。"), field="tier")
    target = pack.tier_index(tier)
    if wanted not in steps.startable_tiers(matter, link.unit, pack):
        following = pack.tiers[steps.next_tier_index(matter, link.unit)]
        raise Invalid(_("督办措施须逐级采取，应先采取%(tier)s。")
                      % {"tier": following.label.get(get_language() or "zh-hans")}, field="tier")
    clean = steps.validate_evidence(wanted, evidence)
    on = steps.check_step_day(matter, on or clock.today())
    step = EscalationStep.objects.create(matter=matter, unit=link.unit, tier=tier, tier_index=target,
                                         source=EscalationStep.Source.MANUAL, pack_name=pack.name,
                                         pack_version=pack.version, due_on=on, deadline=matter.deadline)
    audit.record(actor=actor, action="step.open", obj=step, note=reason,
                 after={"matter": matter.number, "unit": link.unit.code, "tier": tier, "source": "manual"})
    return steps.record_step(step, wanted, pack, evidence=clean, actor=actor, on=on)


@action
def do_start_step(matter_id: int, *, actor, tier: str, unit: str | None, reason: str, evidence: dict,
                  uploads: Iterable[tuple[str, UploadedFile]] = (), on: date | None = None) -> EscalationStep:
    """Staff start a step on their own initiative (主动督办), with the reason they give: the
    matter's timeline says why (``matter.step_started``, its note), then the step is recorded
    with its evidence and files as ``do_record_manual_step`` does (the ladder in order), all or
    nothing."""
    _staff_only(actor, _("主动督办"))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("请填写主动督办的理由。"), field="reason")
    if len(reason) > 300:
        raise Invalid(_("理由不能超过300字。"), field="reason")
    matter = matters_access.access_matter_by_id(actor, matter_id)
    link = matter.units.filter(unit__code=unit).select_related("unit").first() if unit else steps.responsible(matter)
    audit.record(actor=actor, action="matter.step_started", obj=matter, note=reason,
                 after={"tier": tier, "unit": link.unit.code if link else unit, "on": on or clock.today()})
    evidence = _evidence_with_files(matter_id, actor=actor, evidence=evidence, uploads=uploads)
    return do_record_manual_step(matter_id, actor=actor, tier=tier, evidence=evidence, unit=unit, on=on, reason=reason)


def withdrawing_kind(pack):
    """The pack's kind of correction that withdraws a step (系误记 in the default pack), or None:
    then the county's rules do not let a step be withdrawn."""
    return next((kind for kind in pack.schedule.reversal_kinds if kind.withdraws_step), None)


@action
def do_withdraw_step(step_id: int, *, actor, reason: str) -> EscalationStep:
    """The office leader withdraws a recorded step as recorded in error, with the reason, where
    the county's pack has a kind of correction that withdraws the step: its deductions are reversed
    with that kind (``do_reverse_entry``, which withdraws the step), and a step that cost no points
    is withdrawn the same way. The step stays, marked withdrawn; the ladder needs its tier again."""
    if getattr(actor, "role", None) != Role.OFFICE_LEADER:
        raise NotAllowed(_("只有办公室领导可以撤销督办措施。"))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("请填写撤销理由。"), field="reason")
    if len(reason) > 300:
        raise Invalid(_("理由不能超过300字。"), field="reason")
    kind = withdrawing_kind(county_pack())
    if kind is None:
        raise Invalid(_("本县规则包不允许撤销督办措施。"), field="reason")
    step = EscalationStep.objects.select_for_update().filter(pk=step_id).first()
    if step is None:
        raise NotFound(_("没有找到这项督办措施。"))
    if step.status != EscalationStep.Status.RECORDED:
        raise Invalid(_("只有已督办的措施可以撤销；该措施当前为“%(status)s”。") % {"status": step.get_status_display()},
                      field="status")
    reversed_ids = LedgerEntry.objects.filter(reverses__isnull=False).values("reverses_id")
    for entry in LedgerEntry.objects.filter(step=step, reverses__isnull=True).exclude(pk__in=reversed_ids).order_by("id"):
        do_reverse_entry(entry.pk, actor=actor, reason=reason, kind=kind.code)
    step.refresh_from_db()
    if step.status != EscalationStep.Status.WITHDRAWN:
        _withdraw_step(step.pk, actor=actor, note=f"{kind.label.zh}：{reason}")
        step.refresh_from_db()
    return step


@action
def do_skip_step(step_id: int, *, actor, reason: str) -> EscalationStep:
    """Pass over a due step whose tier the pack marks skippable (e.g. the special meeting)."""
    _staff_only(actor, _("记录督办措施"))
    step = EscalationStep.objects.select_for_update().select_related("matter", "unit").filter(pk=step_id).first()
    if step is None:
        raise NotFound(_("没有找到这项督办措施。"))
    tier = county_pack().tier(step.tier)
    if step.status != EscalationStep.Status.DUE:
        raise Invalid(_("这项督办措施%(status)s。") % {"status": step.get_status_display()}, field="status")
    if tier is None or not tier.skippable:
        raise Invalid(_("按本县督办规则，%(tier)s不能跳过。")
                      % {"tier": tier.label.get(get_language() or "zh-hans") if tier else step.tier}, field="tier")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("跳过督办措施须说明理由。"), field="reason")
    step.status, step.skip_reason, step.recorded_by, step.recorded_at = (
        EscalationStep.Status.SKIPPED, reason, actor, clock.now())
    step.save(update_fields=["status", "skip_reason", "recorded_by", "recorded_at"])
    audit.record(actor=actor, action="step.skip", obj=step, note=reason, after={"tier": step.tier})
    audit.record(actor=actor, action="matter.step_skipped", obj=step.matter, note=reason,
                 after={"tier": step.tier, "unit": step.unit.code, "step": step.pk, "on": clock.today()})
    return step


@action
def do_record_reply(step_id: int, *, actor, text: str) -> EscalationStep:
    """The unit's dedicated written reply (专题答复) to a supervision notice."""
    step = EscalationStep.objects.select_for_update().select_related("matter").filter(pk=step_id).first()
    if step is None or getattr(actor, "unit_id", None) != step.unit_id:
        raise NotFound(_("没有找到这项督办措施。"))
    if step.notice_id is None:
        raise Invalid(_("这项督办措施没有发出需要答复的通知。"), field="step")
    if step.reply_at:
        raise Invalid(_("已经作出书面答复。"), field="text")
    text = (text or "").strip()
    if not text:
        raise Invalid(_("请填写答复内容。"), field="text")
    step.reply_text, step.reply_at, step.reply_by = text, clock.now(), actor
    step.save(update_fields=["reply_text", "reply_at", "reply_by"])
    audit.record(actor=actor, action="step.reply", obj=step,
                 after={"late": bool(step.reply_due_on and clock.today() > step.reply_due_on)})
    return step


# --- the points ledger ----------------------------------------------------------------------------
@action
def do_reverse_entry(entry_id: int, *, actor, reason: str, kind: str | None = None) -> LedgerEntry:
    """Correct a wrong entry by a reversing one (the office leader only).

    ``kind`` is one of the pack's ``schedule.reversal_kinds`` (default: the first). A kind that
    withdraws the step (系误记) marks the step behind the entry withdrawn: kept and shown, but off
    the ladder, which then needs that tier again. Other kinds give the points back only."""
    if getattr(actor, "role", None) != Role.OFFICE_LEADER:
        raise NotAllowed(_("只有督查室主任可以冲正扣分记录。"))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("冲正须说明理由。"), field="reason")
    pack = county_pack()
    chosen = pack.schedule.reversal_kind(kind or None)
    if chosen is None:
        raise Invalid(_("冲正类别应为%(choices)s之一。") % {"choices": "、".join(
            k.label.get(get_language() or "zh-hans") for k in pack.schedule.reversal_kinds)}, field="kind")
    # One reversal of an entry at a time. Not SELECT … FOR UPDATE: that needs the UPDATE privilege,
    # which the app role does not hold on the append-only ledger (tenants.dbroles); a transaction
    # advisory lock on the entry instead (and `reverses` is unique besides).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"duban.ledger.reverse:{connection.schema_name}:{entry_id}"])
    entry = LedgerEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise Invalid(_("没有找到这条扣分记录。"), field="entry")
    if entry.reverses_id is not None:
        raise Invalid(_("冲正记录本身不能再冲正；请重新记一笔更正。"), field="entry")
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise Invalid(_("这条记录已经冲正。"), field="entry")
    reversal = LedgerEntry.objects.create(
        unit=entry.unit, year=entry.year, occurred_on=entry.occurred_on, amount=-entry.amount,
        event_code=entry.event_code, rule_code=entry.rule_code, pack_name=entry.pack_name,
        pack_version=entry.pack_version, reason=f"冲正（{chosen.label.zh}）：{reason}"[:300], ref=entry.ref,
        matter=entry.matter, step=entry.step, circular=entry.circular, reverses=entry, created_by=actor)
    audit.record(actor=actor, action="ledger.reverse", obj=reversal, note=reason,
                 before={"entry": entry.pk, "amount": entry.amount},
                 after={"reversal": reversal.pk, "amount": reversal.amount, "kind": chosen.code})
    if chosen.withdraws_step and entry.step_id is not None:
        _withdraw_step(entry.step_id, actor=actor, note=f"{chosen.label.zh}：{reason}")
    return reversal


def _withdraw_step(step_id: int, *, actor, note: str) -> None:
    """The step counts as never taken: kept, marked withdrawn, on the matter's timeline."""
    step = EscalationStep.objects.select_for_update().select_related("matter", "unit").get(pk=step_id)
    if step.status != EscalationStep.Status.WITHDRAWN:
        take_off_ladder(step, status=EscalationStep.Status.WITHDRAWN, note=note, actor=actor)


# --- circulars ------------------------------------------------------------------------------------
def _locked_circular(circular_id) -> Circular:
    try:
        circular_id = int(circular_id)
    except (TypeError, ValueError):
        raise NotFound(_("没有找到该通报。")) from None
    circular = Circular.objects.select_for_update().filter(pk=circular_id).first()
    if circular is None:
        raise NotFound(_("没有找到该通报。"))
    return circular


def _draft_only(circular: Circular):
    if circular.status != Circular.Status.DRAFT:
        raise Invalid(_("该通报%(status)s（%(number)s），不能再修改。")
                      % {"status": circular.get_status_display(),
                         "number": circular.notice.number if circular.notice else "—"}, field="status")


@action
def do_draft_circular(*, actor, title: str, period_start: date, period_end: date) -> Circular:
    """Draft a circular over ``period_start``..``period_end`` with the units' ranking."""
    _staff_only(actor, _("起草通报"))
    title = (title or "").strip()
    if not title:
        raise Invalid(_("请填写标题。"), field="title")
    if len(title) > 200:
        raise Invalid(_("标题不能超过200个字。"), field="title")
    if not isinstance(period_start, date):
        raise Invalid(_("请填写通报期间的开始日期。"), field="period_start")
    if not isinstance(period_end, date):
        raise Invalid(_("请填写通报期间的结束日期。"), field="period_end")
    if period_end < period_start:
        raise Invalid(_("通报期间的结束日期（%(end)s）早于开始日期（%(start)s）。")
                      % {"end": date_format(period_end), "start": date_format(period_start)}, field="period_end")
    if period_start > clock.today():
        raise Invalid(_("通报期间的开始日期（%(start)s）还没有到。") % {"start": date_format(period_start)},
                      field="period_start")
    rows = circulars.ranking(period_start, period_end)
    circular = Circular.objects.create(title=title, period_start=period_start, period_end=period_end, ranking=rows,
                                       drafted_by=actor)
    audit.record(actor=actor, action="circular.draft", obj=circular, after={
        "title": title, "period_start": period_start, "period_end": period_end,
        "ranking": [row["unit"] for row in rows]})
    return circular


def _codes(codes, field: str) -> list[Unit]:
    if isinstance(codes, str):
        raise Invalid(_("请逐个选择单位。"), field=field)
    wanted = list(dict.fromkeys((code or "").strip() for code in (codes or [])))
    units = {u.code: u for u in Unit.objects.filter(code__in=wanted, is_active=True)}
    unknown = [code for code in wanted if code not in units]
    if unknown:
        raise Invalid(_("没有编码为%(codes)s的在用单位。") % {"codes": "、".join(f"“{c}”" for c in unknown)}, field=field)
    return [units[code] for code in wanted]


@action
def do_set_circular_lists(circular_id: int, *, actor, praised: list[str], criticised: list[str],
                          body: str = "", named: list[str] = ()) -> Circular:
    """Name the units praised, criticised county-wide (全县通报批评, deducts) and criticised by
    name (点名批评, no deduction unless the pack says so) — each unit in one list at most — and
    the circular's text."""
    _staff_only(actor, _("修改通报"))
    circular = _locked_circular(circular_id)
    _draft_only(circular)
    good = _codes(praised, "praised")
    bad = _codes(criticised, "criticised")
    mentioned = _codes(named, "named")
    both = [u.name for u in good if u in bad]
    if both:
        raise Invalid(_("同一单位不能既受表扬又被通报批评：%(units)s。") % {"units": "、".join(both)}, field="criticised")
    twice = [u.name for u in mentioned if u in good or u in bad]
    if twice:
        raise Invalid(_("点名批评的单位不能同时受表扬或被全县通报批评：%(units)s。") % {"units": "、".join(twice)},
                      field="named")
    circulars.check_lists(circular.ranking or [], good, bad, mentioned)
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


@action
def do_publish_circular(circular_id: int, *, actor) -> Circular:
    """The office leader reviews and publishes (审核后印发): the circular is numbered, and each
    criticised unit bears the pack's county-wide-criticism deduction, once."""
    if getattr(actor, "role", None) != Role.OFFICE_LEADER:
        raise NotAllowed(_("通报须经督查室主任审核后由其发布。"))
    circular = _locked_circular(circular_id)
    _draft_only(circular)
    day = clock.today()
    # The facts as of the day it goes out: the ranking is taken again, and the lists must still hold.
    circular.ranking = circulars.ranking(circular.period_start, circular.period_end, on=day)
    circulars.check_lists(circular.ranking, list(circular.praised.all()), list(circular.criticised.all()),
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
        ledger.post(ScoringEvent(code=circulars.CRITICISM_EVENT, unit=unit.code, lead_unit=unit.code, occurred_on=day,
                                 matter=None, ref=f"circular:{circular.pk}"), actor=actor, circular=circular)
    named_rule = county_pack().schedule.rule(circulars.NAMED_EVENT)
    if named_rule is not None and named_rule.amount > 0:
        for unit in named:
            ledger.post(ScoringEvent(code=circulars.NAMED_EVENT, unit=unit.code, lead_unit=unit.code, occurred_on=day,
                                     matter=None, ref=f"circular:{circular.pk}:named"), actor=actor, circular=circular)
    # The circular's PDF is made and read back now, in this transaction: a circular whose document
    # cannot carry its Chinese is not numbered (documents.pdf.check_pdf).
    circular_document(circular, actor=actor)
    notify("circular.published", recipients=recipients.everyone(), title=f"{number}：{circular.title}",
           body=f"表扬{len(circular.praised.all())}个单位，全县通报批评{len(criticised)}个单位，点名批评{len(named)}个单位。",
           url=f"/circulars/{circular.pk}/")
    return circular


# --- the quarterly inspection ---------------------------------------------------------------------
@action
def do_record_inspection(item_id: int, *, actor, result: str, findings: str = "",
                         on: date | None = None) -> InspectionItem:
    """Record what the inspection found for one matter and unit (once). A unit found behind is
    queued for the ladder: the next tier for that matter and unit is opened as a to-do."""
    if getattr(actor, "role", None) != Role.SUPERVISION_STAFF:
        raise NotAllowed(_("只有督查督办人员可以记录督查检查结果。"))
    try:
        item_id = int(item_id)
    except (TypeError, ValueError):
        raise NotFound(_("没有找到该检查事项。")) from None
    item = (InspectionItem.objects.select_for_update().select_related("round", "matter", "unit")
            .filter(pk=item_id).first())
    if item is None:
        raise NotFound(_("没有找到该检查事项。"))
    if result not in inspection.RESULTS:
        raise Invalid(_("检查结果不正确，可选：%(choices)s。")
                      % {"choices": "、".join(str(InspectionItem.Result(r).label) for r in inspection.RESULTS)}, field="result")
    if item.result != InspectionItem.Result.PENDING:
        raise Invalid(_("该事项已记录为%(result)s。") % {"result": item.get_result_display()}, field="result")
    findings = (findings or "").strip()
    on = on or clock.today()
    item.result, item.findings, item.inspected_by, item.inspected_at = result, findings, actor, clock.now()
    item.save(update_fields=["result", "findings", "inspected_by", "inspected_at"])
    queued = _queue_for_ladder(item, actor=actor, on=on) if result == InspectionItem.Result.BEHIND else None
    audit.record(actor=actor, action="inspection.record", obj=item, before={"result": InspectionItem.Result.PENDING},
                 after={"round": str(item.round), "matter": item.matter.number, "unit": item.unit.code,
                        "result": result, "findings": findings,
                        "step": queued.pk if queued else None, "tier": queued.tier if queued else None})
    return item


def _queue_for_ladder(item: InspectionItem, *, actor, on: date) -> EscalationStep | None:
    """Open the next tier for (matter, unit) as a due step — unless one is already due, the
    ladder is exhausted, or the matter is no longer under way."""
    matter = Matter.objects.select_for_update().get(pk=item.matter_id)  # one opener at a time per matter
    if matter.state not in steps.UNDER_WAY:
        return None
    link = matter.units.filter(unit=item.unit).select_related("unit").first()
    if link is None:
        return None
    existing = [s for s in EscalationStep.objects.filter(matter=matter, unit=item.unit).order_by("tier_index", "id")
                if steps.on_this_ladder(s, matter)]
    if any(s.status == EscalationStep.Status.DUE for s in existing):
        return None
    done = [s.tier for s in existing if s.status in (EscalationStep.Status.RECORDED, EscalationStep.Status.SKIPPED)]
    pack = county_pack()
    tier = active_plugin_manager().hook.duban_next_tier(pack=pack, recorded=done)
    if tier is None:
        return None
    return _open_step(matter, link, tier, pack, actor=actor, on=on)


def _open_step(matter: Matter, link: MatterUnit, tier, pack, *, actor, on: date) -> EscalationStep:
    """Open ``tier`` for the unit as a to-do found by the inspection (recorded at once where the
    pack marks the tier automatic), with the same audit trail as a step the sweep opens."""
    step = EscalationStep.objects.create(
        matter=matter, unit=link.unit, tier=tier.code, tier_index=pack.tier_index(tier.code),
        source=EscalationStep.Source.INSPECTION, pack_name=pack.name, pack_version=pack.version, due_on=on,
        deadline=matter.deadline)
    audit.record(actor=actor, action="step.open", obj=step, after={
        "matter": matter.number, "unit": link.unit.code, "tier": tier.code, "due_on": on,
        "source": EscalationStep.Source.INSPECTION})
    audit.record(actor=actor, action="matter.step_opened", obj=matter,
                 after={"tier": tier.code, "unit": link.unit.code, "step": step.pk})
    if tier.mode == "automatic":
        steps.record_step(step, tier, pack, evidence={"recorded_by": "system"}, actor=actor, on=on)
    return step


# --- a flow of actions: a step recorded with the files its tier asks for ---------------------------
def _evidence_with_files(matter_id: int, *, actor, evidence: dict, uploads: Iterable[tuple[str, UploadedFile]]) -> dict:
    """The step's evidence with each uploaded file attached to the matter and named in its field
    ("name（附件N）"); a refused file names its field (``evidence.<code>``)."""
    evidence = dict(evidence)
    for code, upload in uploads:
        try:
            attachment = do_attach_file(matter_id, actor=actor, upload=upload)
        except Invalid as exc:
            raise Invalid(str(exc), field=f"evidence.{code}") from None
        evidence[code] = f"{attachment.original_name}（{_('附件')}{attachment.pk}）"
    return evidence


@action
def do_record_step_with_evidence(step_id: int, *, actor, evidence: dict, uploads: Iterable[tuple[str, UploadedFile]],
                                 on: date | None = None) -> EscalationStep:
    """Record a due step with its typed evidence and the files its tier asks for, all or nothing:
    each file is attached to the step's matter and named in its evidence field ("name（附件N）"); a
    file refused names its field (``evidence.<code>``) and nothing is recorded."""
    matter_id = EscalationStep.objects.filter(pk=step_id).values_list("matter_id", flat=True).first()
    if matter_id is None:
        raise NotFound(_("没有找到这项督办措施。"))
    evidence = _evidence_with_files(matter_id, actor=actor, evidence=evidence, uploads=uploads)
    return do_record_step(step_id, actor=actor, evidence=evidence, on=on)
