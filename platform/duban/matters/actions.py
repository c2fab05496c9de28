"""Writes to matters: the workflow of the seed's part 三 and principles 一(二)–(四).

Every action: one transaction; a keyword-only acting user; the matter locked (SELECT … FOR
UPDATE) and, when the caller says which version it saw, checked against it (a stale version is
a :class:`Conflict`); the transition checked against ``states.TRANSITIONS``; full validation
(:class:`Invalid` names the field); an audit event with before and after; the version
bumped. Two people acting at once: one wins, the other gets ``Conflict`` or ``InvalidTransition``
saying what happened — nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext, gettext_lazy
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core import clock
from duban.core.actions import action
from duban.core.county import county_calendar, county_pack, next_value, today
from duban.core.errors import Conflict, Invalid, NotAllowed, NotFound
from duban.core.models import CalendarYear, WorkdayOverride
from duban.documents.numbering import next_notice_number
from duban.matters import access, queries
from duban.matters.attachments import ATTACHING_ROLES, check_upload
from duban.matters.models import (
    FEEDBACK_KINDS,
    Attachment,
    ChangeRequest,
    CollectionRound,
    DeadlineChange,
    Feedback,
    Matter,
    MatterRevision,
    MatterUnit,
    Notice,
    ResultReport,
    Review,
    Satisfaction,
)
from duban.matters.signals import deadline_changed, sent_back
from duban.matters.states import LEADERS, TERMINAL, State, check
from duban.notifications import recipients
from duban.notifications.service import notify
from duban.units.models import Unit


def snapshot(matter: Matter) -> dict:
    return {"state": matter.state, "version": matter.version, "deadline": matter.deadline,
            "redo_count": matter.redo_count}


def _locked(user, matter_id, expected_version: int | None) -> Matter:
    matter = access.access_matter_by_id(user, matter_id, for_update=True)
    if expected_version is not None and matter.version != expected_version:
        raise Conflict(_("事项%(number)s已被他人修改（现为%(state)s），请刷新页面后重试。")
                       % {"number": matter.number, "state": State(matter.state).label})
    return matter


def _finish(matter: Matter, user, action: str, before: dict, *, fields: list[str], note: str = "",
            extra: dict | None = None) -> Matter:
    matter.version += 1
    matter.save(update_fields=[*fields, "version"])
    after = snapshot(matter)
    if extra:
        after.update(extra)
    audit.record(actor=user, action=f"matter.{action}", obj=matter, before=before, after=after, note=note)
    return matter


def _unit(code: str, field: str) -> Unit:
    unit = Unit.objects.filter(code=code, is_active=True).first()
    if unit is None:
        raise Invalid(_("没有编码为“%(code)s”的在用单位。") % {"code": code}, field=field)
    return unit


def _user_unit_link(user, matter: Matter) -> MatterUnit:
    link = matter.units.filter(unit_id=user.unit_id).first()
    if link is None:  # visibility already requires it; keep the guard explicit
        raise NotFound(_("没有找到该事项。"))
    return link


# What each text field is called in a message.
FIELD_LABELS = {"title": gettext_lazy("标题"), "content": gettext_lazy("内容"), "text": gettext_lazy("内容"),
                "reason": gettext_lazy("理由"), "reasons": gettext_lazy("退回理由"),
                "requirements": gettext_lazy("工作要求"), "comment": gettext_lazy("意见")}


def _text(value: str | None, field: str, *, required: bool = True, max_length: int | None = None) -> str:
    value = (value or "").strip()
    label = FIELD_LABELS.get(field, field)
    if required and not value:
        raise Invalid(_("请填写%(field)s。") % {"field": label}, field=field)
    if max_length and len(value) > max_length:
        raise Invalid(_("%(field)s不能超过%(limit)d个字。") % {"field": label, "limit": max_length}, field=field)
    return value


# --- collection (收集) -----------------------------------------------------------------------
@action
def do_open_round(*, actor, title: str, due_date: date, leaders: list, note: str = "") -> CollectionRound:
    if actor.role != Role.SUPERVISION_STAFF:
        raise NotAllowed(_("只有督查督办人员可以发起事项征集。"))
    title = _text(title, "title", max_length=200)
    if due_date is None or due_date < today():
        raise Invalid(_("截止日期不能早于今天。"), field="due_date")
    leaders = list(leaders)
    if not leaders or any(u.role not in LEADERS or not u.is_active for u in leaders):
        raise Invalid(_("请选择至少一位在职的领导。"), field="leaders")
    round_ = CollectionRound.objects.create(title=title, due_date=due_date, note=note, opened_by=actor)
    round_.leaders.set(leaders)
    audit.record(actor=actor, action="round.open", obj=round_,
                 after={"title": title, "due_date": due_date, "leaders": [u.username for u in leaders]})
    return round_


@action
def do_close_round(round_id: int, *, actor) -> CollectionRound:
    if actor.role != Role.SUPERVISION_STAFF:
        raise NotAllowed(_("只有督查督办人员可以结束事项征集。"))
    round_ = CollectionRound.objects.select_for_update().filter(pk=round_id).first()
    if round_ is None:
        raise NotFound(_("没有找到该次事项征集。"))
    if round_.status == CollectionRound.Status.CLOSED:
        raise Invalid(_("本次事项征集已经结束。"), field="status")
    round_.status, round_.closed_at = CollectionRound.Status.CLOSED, clock.now()
    round_.save(update_fields=["status", "closed_at"])
    audit.record(actor=actor, action="round.close", obj=round_, before={"status": "open"}, after={"status": "closed"})
    return round_


@action
def do_propose_matter(*, actor, title: str, content: str, category: str, proposed_units: list[str] = (),
                      requested_deadline: date | None = None, source_reference: str = "",
                      round_id: int | None = None, time_sensitive: bool = False,
                      on_behalf_of=None) -> Matter:
    """A leader proposes a matter (or staff enter one a leader gave them on paper)."""
    if actor.role not in (*LEADERS, Role.SUPERVISION_STAFF):
        raise NotAllowed(_("只有领导和督查督办人员可以提出督办事项。"))
    proposer = actor
    if on_behalf_of is not None:
        if actor.role != Role.SUPERVISION_STAFF or on_behalf_of.role not in LEADERS:
            raise Invalid(_("督查督办人员只能代领导录入提议。"), field="on_behalf_of")
        proposer = on_behalf_of
    title = _text(title, "title", max_length=200)
    content = _text(content, "content")
    pack = county_pack()
    if pack.category(category) is None:
        raise Invalid(_("事项类别不正确，可选：%(choices)s。")
                      % {"choices": "、".join(c.label.get(get_language() or "zh-hans") for c in pack.scope)}, field="category")
    if requested_deadline is not None and requested_deadline < today():
        raise Invalid(_("建议办结时限不能早于今天。"), field="requested_deadline")
    units = [_unit(code, "proposed_units") for code in proposed_units]
    round_ = None
    if round_id is not None:
        round_ = CollectionRound.objects.filter(pk=round_id).first()
        if round_ is None or round_.status != CollectionRound.Status.OPEN:
            raise Invalid(_("该次事项征集不存在或已经结束。"), field="round")
    year = today().year
    number = f"{year}-{next_value(f'matter:{year}'):04d}"
    matter = Matter.objects.create(
        number=number, title=title, content=content, category=category, source_reference=source_reference,
        requested_deadline=requested_deadline, round=round_, proposed_by=proposer, time_sensitive=time_sensitive)
    matter.proposed_units.set(units)
    audit.record(actor=actor, action="matter.propose", obj=matter, after={
        "number": number, "title": title, "category": category, "proposed_by": proposer.username,
        "proposed_units": [u.code for u in units], "requested_deadline": requested_deadline, "state": matter.state})
    return matter


@action
def do_register_matter(matter_id: int, *, actor, expected_version: int | None = None) -> Matter:
    """Staff enter a proposal in the register book (登记造册); it then waits for approval."""
    matter = _locked(actor, matter_id, expected_version)
    transition = check("register", matter.state, actor.role)
    before = snapshot(matter)
    matter.state, matter.registered_by, matter.registered_at = transition.target, actor, clock.now()
    return _finish(matter, actor, "register", before, fields=["state", "registered_by", "registered_at"])


# --- approval (立项) -------------------------------------------------------------------------
@action
def do_approve_matter(matter_id: int, *, actor, comment: str = "", expected_version: int | None = None) -> Matter:
    matter = _locked(actor, matter_id, expected_version)
    transition = check("approve", matter.state, actor.role)
    before = snapshot(matter)
    matter.state, matter.approved_by, matter.approved_at = transition.target, actor, clock.now()
    matter.decision_comment = (comment or "").strip()
    return _finish(matter, actor, "approve", before, fields=["state", "approved_by", "approved_at", "decision_comment"],
                   note=matter.decision_comment)


@action
def do_reject_matter(matter_id: int, *, actor, comment: str, expected_version: int | None = None) -> Matter:
    matter = _locked(actor, matter_id, expected_version)
    transition = check("reject", matter.state, actor.role)
    comment = _text(comment, "comment")
    before = snapshot(matter)
    matter.state, matter.approved_by, matter.approved_at = transition.target, actor, clock.now()
    matter.decision_comment = comment
    return _finish(matter, actor, "reject", before, fields=["state", "approved_by", "approved_at", "decision_comment"],
                   note=comment)


# --- assignment (交办) -----------------------------------------------------------------------
def _deadline(start: date, deadline: date | None, working_days: int | None) -> tuple[date, int | None, bool]:
    if (deadline is None) == (working_days is None):
        raise Invalid(_("请填写办结时限日期或工作日天数，二者选一。"), field="deadline")
    if working_days is not None:
        if working_days < 1 or working_days > 500:
            raise Invalid(_("工作日天数应在1至500之间。"), field="deadline_working_days")
        due, provisional = county_calendar().add_working_days(start, working_days)
        return due, working_days, provisional
    if deadline <= start:
        raise Invalid(_("办结时限应晚于交办日期。"), field="deadline")
    return deadline, None, not county_calendar().knows(deadline.year)


@action
def do_assign_matter(matter_id: int, *, actor, lead_unit: str, co_units: list[str] = (), requirements: str,
                     deadline: date | None = None, deadline_working_days: int | None = None,
                     feedback_every_working_days: int | None = None,
                     expected_version: int | None = None) -> Matter:
    """Assign to a lead unit and optional co-operating units, with a numbered notice
    (《重点事项交办通知单》) whose number runs per county per year."""
    matter = _locked(actor, matter_id, expected_version)
    transition = check("assign", matter.state, actor.role)
    requirements = _text(requirements, "requirements")
    lead = _unit(lead_unit, "lead_unit")
    cos = [_unit(code, "co_units") for code in dict.fromkeys(co_units)]
    if lead in cos:
        raise Invalid(_("牵头单位不能同时作为协办单位。"), field="co_units")
    if feedback_every_working_days is not None and not 1 <= feedback_every_working_days <= 60:
        raise Invalid(_("反馈周期应为1至60个工作日。"), field="feedback_every_working_days")
    start = today()
    due, working_days, provisional = _deadline(start, deadline, deadline_working_days)
    before = snapshot(matter)
    MatterUnit.objects.create(matter=matter, unit=lead, role=MatterUnit.Role.LEAD)
    for unit in cos:
        MatterUnit.objects.create(matter=matter, unit=unit, role=MatterUnit.Role.CO)
    matter.state, matter.assigned_by, matter.assigned_at, matter.assigned_on = transition.target, actor, clock.now(), start
    matter.requirements, matter.deadline = requirements, due
    matter.deadline_working_days, matter.deadline_provisional = working_days, provisional
    matter.feedback_every_working_days = feedback_every_working_days
    matter.feedback_due_on = (county_calendar().add_working_days(start, feedback_every_working_days)[0]
                              if feedback_every_working_days else None)
    MatterRevision.objects.create(matter=matter, seq=1, title=matter.title, content=matter.content,
                                  requirements=requirements, deadline=due, lead_unit=lead.code,
                                  co_units=[u.code for u in cos], reason="交办", created_by=actor)
    DeadlineChange.objects.create(matter=matter, kind=DeadlineChange.Kind.ASSIGNED, new_deadline=due,
                                  changed_by=actor)
    seq, number = next_notice_number("assignment_notice", start.year)
    Notice.objects.create(kind="assignment_notice", year=start.year, seq=seq, number=number, matter=matter,
                          unit=lead, issued_by=actor)
    notify("matter.assigned", recipients=recipients.unit_staff([lead, *cos]), matter=matter,
           url=recipients.matter_url(matter), title=f"交办：{matter.title}",
           body=f"{number}：请于{due:%Y年%-m月%-d日}前办结（牵头单位：{lead.name}）。请及时签收。")
    return _finish(matter, actor, "assign", before, fields=[
        "state", "assigned_by", "assigned_at", "assigned_on", "requirements", "deadline", "deadline_working_days",
        "deadline_provisional", "feedback_every_working_days", "feedback_due_on"],
        extra={"lead_unit": lead.code, "co_units": [u.code for u in cos], "notice": number,
               "deadline_provisional": provisional})


@action
def do_sign_for_receipt(matter_id: int, *, actor, expected_version: int | None = None) -> Matter:
    """The unit signs for receipt (签收). The matter is under way once the lead unit has signed."""
    matter = _locked(actor, matter_id, expected_version)
    check("sign", matter.state, actor.role)
    link = _user_unit_link(actor, matter)
    if link.received_at:
        raise Invalid(_("%(unit)s已签收本事项。") % {"unit": link.unit.name}, field="unit")
    before = snapshot(matter)
    link.received_at, link.received_by = clock.now(), actor
    link.save(update_fields=["received_at", "received_by"])
    fields = []
    if link.role == MatterUnit.Role.LEAD and matter.state == State.ASSIGNED:
        matter.state = State.IN_PROGRESS
        fields.append("state")
    return _finish(matter, actor, "sign", before, fields=fields, extra={"unit": link.unit.code})


# Progress feedback a unit gives (反馈进展); a co-unit's report of its own part is do_report_part.


# --- feedback, result, review (反馈、汇报、审核、复办) ------------------------------------------
@action
def do_give_feedback(matter_id: int, *, actor, kind: str, text: str, expected_version: int | None = None,
                     files: Iterable = ()) -> Feedback:
    """Progress feedback (反馈进展), with the files that support it (``files``: uploads, each
    attached to this feedback; one refused and nothing is recorded)."""
    matter = _locked(actor, matter_id, expected_version)
    check("feedback", matter.state, actor.role)
    link = _user_unit_link(actor, matter)
    if not link.received_at:
        raise Invalid(_("请先签收本事项再反馈进展。"), field="unit")
    if kind not in FEEDBACK_KINDS:
        raise Invalid(_("反馈方式不正确。"), field="kind")
    text = _text(text, "text")
    before = snapshot(matter)
    feedback = Feedback.objects.create(matter=matter, unit=link.unit, kind=kind, text=text, given_by=actor)
    fields = []
    if matter.feedback_every_working_days and link.role == MatterUnit.Role.LEAD:
        matter.feedback_due_on = county_calendar().add_working_days(today(), matter.feedback_every_working_days)[0]
        fields.append("feedback_due_on")
    _finish(matter, actor, "feedback", before, fields=fields,
            extra={"unit": link.unit.code, "feedback": feedback.pk, "kind": kind})
    _attach_all(matter, actor, files, feedback_id=feedback.pk)
    return feedback


@action
def do_report_part(matter_id: int, *, actor, text: str, expected_version: int | None = None,
                   files: Iterable = ()) -> Feedback:
    """A co-operating unit reports its own part (报送承办部分) — once; a send-back naming the unit
    makes it due again. A co-unit that has reported its part is not escalated for the matter's
    missed deadline; one that has not is (the sweep addresses each unit late on its own part).
    ``files`` are attached to the part reported, all or nothing."""
    matter = _locked(actor, matter_id, expected_version)
    check("report_part", matter.state, actor.role)
    link = _user_unit_link(actor, matter)
    if link.role != MatterUnit.Role.CO:
        raise NotAllowed(_("办理结果由牵头单位报送；协办单位报送本单位承办部分。"))
    if not link.received_at:
        raise Invalid(_("%(unit)s尚未签收本事项，请先签收再报送承办部分。") % {"unit": link.unit.name}, field="unit")
    if link.part_reported_at:
        raise Invalid(_("%(unit)s已于%(day)s报送承办部分；如有新进展请反馈进展。")
                      % {"unit": link.unit.name, "day": date_format(timezone.localtime(link.part_reported_at).date())},
                      field="unit")
    text = _text(text, "text")
    before = snapshot(matter)
    part = Feedback.objects.create(matter=matter, unit=link.unit, kind=Feedback.Kind.PART, text=text, given_by=actor)
    link.part_reported_at, link.part_reported_by = part.given_at, actor
    link.save(update_fields=["part_reported_at", "part_reported_by"])
    _finish(matter, actor, "report_part", before, fields=[], extra={"unit": link.unit.code, "feedback": part.pk})
    _attach_all(matter, actor, files, feedback_id=part.pk)
    return part


@action
def do_report_result(matter_id: int, *, actor, text: str, expected_version: int | None = None,
                     files: Iterable = ()) -> ResultReport:
    """The lead unit reports the result (汇报督办结果); it waits for the office leader's review.
    ``files`` are attached to this result (seen upward only once it is reviewed), all or nothing."""
    matter = _locked(actor, matter_id, expected_version)
    transition = check("report", matter.state, actor.role)
    link = _user_unit_link(actor, matter)
    if link.role != MatterUnit.Role.LEAD:
        raise NotAllowed(_("办理结果由牵头单位报送；协办单位请反馈进展。"))
    text = _text(text, "text")
    before = snapshot(matter)
    report = ResultReport.objects.create(matter=matter, unit=link.unit, attempt=matter.reports.count() + 1, text=text,
                                         reported_by=actor)
    matter.state = transition.target
    _finish(matter, actor, "report", before, fields=["state"], extra={"report": report.pk, "attempt": report.attempt})
    _attach_all(matter, actor, files, report_id=report.pk)
    notify("result.reported", recipients=recipients.office_leaders(), matter=matter, url=recipients.matter_url(matter),
           title=f"待审核：{matter.title}",
           body=f"{link.unit.name}已报送{matter.number}的办理结果（第{report.attempt}次报送），请审核。")
    return report


def _pending_report(matter: Matter) -> ResultReport:
    report = matter.reports.filter(review__isnull=True).order_by("-attempt").first()
    if report is None:  # the state machine makes this unreachable; fail loudly if it is not
        raise Invalid(_("没有待审核的办理结果。"), field="report")
    return report


@action
def do_accept_result(matter_id: int, *, actor, reasons: str = "", satisfaction: str | None = None,
                     expected_version: int | None = None, missing_parts_confirmed: bool = True) -> Review:
    """The office leader accepts the result (审核通过): the matter is closed (办结).

    A co-operating unit that never signed or never reported its part is named on the timeline
    (``co_units_not_signed`` / ``co_units_not_reported``); the web page asks the leader to confirm
    first (``missing_parts_confirmed=False`` until the box is ticked).

    A matter of a category whose pack rule records the proposer's view (人大代表建议、政协委员提案)
    needs ``satisfaction`` with the reply: 满意 or 基本满意 close it; 不满意 reopens it once for a
    second reply within the pack's period (a new deadline, not a redo); after a second reply it
    closes whatever the view."""
    matter = _locked(actor, matter_id, expected_version)
    transition = check("accept", matter.state, actor.role)
    rule = getattr(county_pack().category(matter.category), "proposer_satisfaction", None)
    satisfaction = (satisfaction or "").strip() or None
    if rule is None and satisfaction:
        raise Invalid(_("只有人大代表建议、政协委员提案类事项记录代表委员对答复的意见。"), field="satisfaction")
    if rule is not None and satisfaction not in Satisfaction.values:
        raise Invalid(_("请记录代表委员对答复的意见：%(choices)s。")
                      % {"choices": "、".join(str(c.label) for c in Satisfaction)}, field="satisfaction")
    report = _pending_report(matter)
    not_signed, not_reported = queries.missing_parts(matter)
    if (not_signed or not_reported) and not missing_parts_confirmed:
        raise Invalid(gettext("协办单位%(units)s尚未签收或尚未报送承办部分；确认仍要办结的，请勾选确认框。")
                      % {"units": "、".join(u.name for u in [*not_signed, *not_reported])}, field="confirm_missing_parts")
    before = snapshot(matter)
    replied_again = Review.objects.filter(report__matter=matter, decision=Review.Decision.REPLY_AGAIN).exists()
    if satisfaction == Satisfaction.UNSATISFIED and not replied_again:
        return _reply_again(matter, report, actor, reasons, rule, before)
    review = Review.objects.create(report=report, decision=Review.Decision.ACCEPT, reasons=(reasons or "").strip(),
                                   reviewed_by=actor, satisfaction=satisfaction or "")
    matter.state, matter.closed_at, matter.feedback_due_on = transition.target, clock.now(), None
    _finish(matter, actor, "accept", before, fields=["state", "closed_at", "feedback_due_on"], note=review.reasons,
            extra={"report": report.pk, **({"satisfaction": satisfaction} if satisfaction else {}),
                   **({"co_units_not_signed": [u.code for u in not_signed]} if not_signed else {}),
                   **({"co_units_not_reported": [u.code for u in not_reported]} if not_reported else {})})
    people = recipients.unit_staff([report.unit])
    people += [leader for leader in recipients.matter_leaders(matter) if leader not in people and leader != actor]
    view = f"代表委员意见：{Satisfaction(satisfaction).label}。" if satisfaction else ""
    notify("result.accepted", recipients=people, matter=matter,
           url=recipients.matter_url(matter), title=f"已办结：{matter.title}",
           body=f"{matter.number} 的办理结果审核通过。{view}{review.reasons}".strip())
    return review


def _reply_again(matter: Matter, report: ResultReport, actor, reasons: str, rule, before: dict) -> Review:
    """The proposer is not satisfied with the first reply: the matter is reopened for a second
    reply within the pack's period (its own deadline change; no redo is counted)."""
    transition = check("reply_again", matter.state, actor.role)
    review = Review.objects.create(report=report, decision=Review.Decision.REPLY_AGAIN, reasons=(reasons or "").strip(),
                                   reviewed_by=actor, satisfaction=Satisfaction.UNSATISFIED)
    old = matter.deadline
    new, _provisional = county_calendar().add_working_days(today(), rule.second_reply_working_days)
    DeadlineChange.objects.create(matter=matter, kind=DeadlineChange.Kind.SECOND_REPLY, old_deadline=old,
                                  new_deadline=new, reason=review.reasons or "代表委员对答复不满意，再次办理答复",
                                  changed_by=actor)
    matter.state, matter.deadline, matter.deadline_working_days = transition.target, new, rule.second_reply_working_days
    _finish(matter, actor, "reply_again", before, fields=["state", "deadline", "deadline_working_days"],
            note=review.reasons, extra={"report": report.pk, "satisfaction": Satisfaction.UNSATISFIED,
                                        "old_deadline": old, "new_deadline": new})
    deadline_changed.send(Matter, matter=matter, old=old, new=new, kind=DeadlineChange.Kind.SECOND_REPLY, actor=actor)
    notify("result.sent_back", recipients=recipients.unit_staff([report.unit]), matter=matter,
           url=recipients.matter_url(matter), title=f"再次答复：{matter.title}",
           body=f"代表委员对{matter.number}的答复不满意，请于{new:%Y年%-m月%-d日}前再次办理答复。{review.reasons}".strip())
    return review


@action
def do_send_back(matter_id: int, *, actor, reasons: str, units: list[str] | None = None,
                 expected_version: int | None = None) -> Review:
    """The office leader sends the result back for redo (复办) with reasons; the count is kept.

    ``units`` names the units whose part fell short (default: the lead unit, which reported the
    result). The redo is charged to them by the pack's bearer rule, and a named co-operating
    unit's part is due again."""
    matter = _locked(actor, matter_id, expected_version)
    transition = check("send_back", matter.state, actor.role)
    reasons = _text(reasons, "reasons")
    links = {link.unit.code: link for link in matter.units.select_related("unit")}
    names = dict(Unit.objects.filter(code__in=[*links, *(units or [])]).values_list("code", "name"))
    lead = next(code for code, link in links.items() if link.role == MatterUnit.Role.LEAD)
    charged = list(dict.fromkeys(units or [lead]))
    strangers = [code for code in charged if code not in links]
    if strangers:
        raise Invalid(_("%(units)s不是本事项的承办单位；退回只能涉及本事项的牵头单位和协办单位（%(own)s）。")
                      % {"units": "、".join(names.get(code, code) for code in strangers),
                         "own": "、".join(link.unit.name for link in links.values())}, field="units")
    report = _pending_report(matter)
    before = snapshot(matter)
    review = Review.objects.create(report=report, decision=Review.Decision.REDO, reasons=reasons, reviewed_by=actor,
                                   charged_units=charged)
    matter.state = transition.target
    matter.redo_count += 1
    reopened = [code for code in charged if links[code].role == MatterUnit.Role.CO and links[code].part_reported_at]
    MatterUnit.objects.filter(pk__in=[links[code].pk for code in reopened]).update(part_reported_at=None,
                                                                                  part_reported_by=None)
    _finish(matter, actor, "send_back", before, fields=["state", "redo_count"], note=reasons,
            extra={"report": report.pk, "units": charged, "parts_due_again": reopened})
    sent_back.send(Matter, matter=matter, review=review, actor=actor, on=today())  # the redo rule (六(五))
    units_told = [links[code].unit for code in dict.fromkeys([lead, *charged])]
    notify("result.sent_back", recipients=recipients.unit_staff(units_told), matter=matter,
           url=recipients.matter_url(matter), title=f"退回复办：{matter.title}",
           body=f"{matter.number} 第{matter.redo_count}次退回复办：{reasons}")
    return review


# --- extensions, adjustments, cancellation (延期、调整、取消) -----------------------------------
@action
def do_request_extension(matter_id: int, *, actor, new_deadline: date, reason: str,
                         expected_version: int | None = None) -> ChangeRequest:
    matter = _locked(actor, matter_id, expected_version)
    check("request_extension", matter.state, actor.role)
    _user_unit_link(actor, matter)
    reason = _text(reason, "reason")
    if new_deadline is None or new_deadline <= matter.deadline:
        raise Invalid(_("新的办结时限应晚于现在的时限（%(day)s）。") % {"day": date_format(matter.deadline)},
                          field="new_deadline")
    if matter.change_requests.filter(kind=ChangeRequest.Kind.EXTENSION, status=ChangeRequest.Status.PENDING).exists():
        raise Invalid(_("已有一份延期申请等待审批。"), field="new_deadline")
    before = snapshot(matter)
    request = ChangeRequest.objects.create(matter=matter, kind=ChangeRequest.Kind.EXTENSION, reason=reason,
                                           proposed={"deadline": new_deadline.isoformat()}, requested_by=actor)
    _finish(matter, actor, "request_extension", before, fields=[], note=reason,
            extra={"request": request.pk, "requested_deadline": new_deadline})
    return request


@action
def do_request_change(matter_id: int, *, actor, kind: str, reason: str, changes: dict | None = None,
                      expected_version: int | None = None) -> ChangeRequest:
    """Staff ask a leader to adjust (调整) a matter's core content or cancel (取消) it."""
    matter = _locked(actor, matter_id, expected_version)
    check("request_change", matter.state, actor.role)
    reason = _text(reason, "reason")
    if kind not in (ChangeRequest.Kind.ADJUSTMENT, ChangeRequest.Kind.CANCELLATION):
        raise Invalid(_("申请类型应为调整或取消。"), field="kind")
    proposed = {}
    if kind == ChangeRequest.Kind.ADJUSTMENT:
        allowed = {"title", "content", "requirements", "deadline", "lead_unit", "co_units"}
        changes = dict(changes or {})
        unknown = set(changes) - allowed
        if not changes or unknown:
            raise Invalid(_("调整申请只能修改标题、内容、工作要求、办结时限、牵头单位和协办单位。"), field="changes")
        for code in [changes.get("lead_unit")] + list(changes.get("co_units") or []):
            if code:
                _unit(code, "changes")
        if "deadline" in changes:
            changes["deadline"] = _as_date(changes["deadline"], "changes").isoformat()
        proposed = changes
    if matter.change_requests.filter(kind=kind, status=ChangeRequest.Status.PENDING).exists():
        raise Invalid(_("已有一份%(kind)s申请等待审批。") % {"kind": ChangeRequest.Kind(kind).label}, field="kind")
    before = snapshot(matter)
    request = ChangeRequest.objects.create(matter=matter, kind=kind, reason=reason, proposed=proposed,
                                           requested_by=actor)
    _finish(matter, actor, "request_change", before, fields=[], note=reason,
            extra={"request": request.pk, "kind": kind, "proposed": proposed})
    return request


def _as_date(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(_("“%(value)s”不是有效的日期（格式：2026-12-01）。") % {"value": value}, field=field) from None


@action
def do_decide_request(request_id: int, *, actor, approve: bool, note: str = "",
                      expected_version: int | None = None) -> ChangeRequest:
    """A leader decides an extension, adjustment or cancellation request."""
    request = ChangeRequest.objects.select_related("matter").filter(pk=request_id).first()
    if request is None:
        raise NotFound(_("没有找到该申请。"))
    matter = _locked(actor, request.matter_id, expected_version)
    action = "decide_extension" if request.kind == ChangeRequest.Kind.EXTENSION else "decide_change"
    check(action, matter.state, actor.role)
    request = ChangeRequest.objects.select_for_update().get(pk=request_id)
    if request.status != ChangeRequest.Status.PENDING:
        raise Conflict(_("该申请已经审批（%(status)s）。") % {"status": request.get_status_display()})
    before = snapshot(matter)
    request.status = ChangeRequest.Status.APPROVED if approve else ChangeRequest.Status.REJECTED
    request.decided_by, request.decided_at, request.decision_note = actor, clock.now(), (note or "").strip()
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    fields: list[str] = []
    if approve and request.kind == ChangeRequest.Kind.EXTENSION:
        new = _not_passed(date.fromisoformat(request.proposed["deadline"]), "new_deadline")
        DeadlineChange.objects.create(matter=matter, kind=DeadlineChange.Kind.EXTENSION, old_deadline=matter.deadline,
                                      new_deadline=new, reason=request.reason, changed_by=actor)
        old = matter.deadline
        matter.deadline, matter.deadline_provisional, matter.deadline_working_days = new, False, None
        fields += ["deadline", "deadline_provisional", "deadline_working_days"]
        deadline_changed.send(Matter, matter=matter, old=old, new=new, kind=DeadlineChange.Kind.EXTENSION, actor=actor)
    elif approve and request.kind == ChangeRequest.Kind.ADJUSTMENT:
        fields += _apply_adjustment(matter, request, actor)
    elif approve and request.kind == ChangeRequest.Kind.CANCELLATION:
        check("cancel", matter.state, actor.role)
        matter.state, matter.feedback_due_on = State.CANCELLED, None
        fields += ["state", "feedback_due_on"]
    _finish(matter, actor, f"{request.kind}.{request.status}", before, fields=fields, note=request.decision_note,
            extra={"request": request.pk})
    return request


def _not_passed(new: date, field: str) -> date:
    """An approved new deadline may not lie in the past: the matter would be overdue at once."""
    if new < today():
        raise Invalid(_("新的办结时限（%(day)s）已经过去，不能批准；请申请人重新提出。") % {"day": date_format(new)},
                      field=field)
    return new


def _apply_adjustment(matter: Matter, request: ChangeRequest, actor) -> list[str]:
    changes = request.proposed
    last = matter.revisions.order_by("-seq").first()
    lead = changes.get("lead_unit") or (last.lead_unit if last else None)
    cos = changes.get("co_units", last.co_units if last else [])
    fields = []
    for name in ("title", "content", "requirements"):
        if name in changes:
            setattr(matter, name, changes[name])
            fields.append(name)
    if "deadline" in changes:
        new = _not_passed(date.fromisoformat(changes["deadline"]), "deadline")
        DeadlineChange.objects.create(matter=matter, kind=DeadlineChange.Kind.ADJUSTMENT, old_deadline=matter.deadline,
                                      new_deadline=new, reason=request.reason, changed_by=actor)
        old = matter.deadline
        matter.deadline, matter.deadline_provisional, matter.deadline_working_days = new, False, None
        fields += ["deadline", "deadline_provisional", "deadline_working_days"]
        deadline_changed.send(Matter, matter=matter, old=old, new=new, kind=DeadlineChange.Kind.ADJUSTMENT, actor=actor)
    if last is not None and (lead != last.lead_unit or cos != last.co_units):
        # Units that already hold the matter keep their receipt; the roles follow the adjustment.
        wanted = {lead: MatterUnit.Role.LEAD, **{c: MatterUnit.Role.CO for c in cos}}
        existing = {link.unit.code: link for link in matter.units.select_related("unit")}
        for code in existing:
            if code not in wanted:
                raise Invalid(_("调整可以增加承办单位或改变牵头、协办，但不能去掉已承办本事项的单位。"),
                              field="changes")
        matter.units.filter(role=MatterUnit.Role.LEAD).exclude(unit__code=lead).update(role=MatterUnit.Role.CO)
        for code, role in wanted.items():
            link = existing.get(code)
            if link is None:
                MatterUnit.objects.create(matter=matter, unit=_unit(code, "changes"), role=role)
            elif link.role != role:
                MatterUnit.objects.filter(pk=link.pk).update(role=role)
    if matter.deadline is not None:
        MatterRevision.objects.create(
            matter=matter, seq=(last.seq + 1) if last else 1, title=matter.title, content=matter.content,
            requirements=matter.requirements, deadline=matter.deadline, lead_unit=lead or "", co_units=list(cos),
            reason=request.reason, created_by=actor)
    return fields


# --- attachments (附件) ------------------------------------------------------------------------
@action
def do_attach_file(matter_id, *, actor, upload, feedback_id: int | None = None,
                   report_id: int | None = None) -> Attachment:
    """Attach ``upload`` (a Django ``UploadedFile``) to a matter, or to one of its feedback
    entries or result reports."""
    matter = access.access_matter_by_id(actor, matter_id)
    if actor.role not in ATTACHING_ROLES:
        raise NotAllowed(_("%(role)s不能为事项上传附件（可以上传的是：承办单位工作人员、督查督办人员、督查室主任）。")
                         % {"role": Role(actor.role).label})
    if actor.role == Role.UNIT_STAFF and not MatterUnit.objects.filter(matter=matter, unit_id=actor.unit_id).exists():
        raise NotFound(_("没有找到该事项。"))  # visibility already requires it
    if matter.state in TERMINAL:
        raise Invalid(_("事项%(number)s%(state)s，不能再上传附件。")
                      % {"number": matter.number, "state": State(matter.state).label}, field="matter")
    if feedback_id is not None and report_id is not None:
        raise Invalid(_("附件只能附在一条进展反馈或一份办理结果上，不能同时附在两处。"), field="feedback")
    feedback = report = None
    if feedback_id is not None:
        feedback = Feedback.objects.filter(pk=_id(feedback_id, "feedback"), matter=matter).first()
        if feedback is None:
            raise Invalid(_("事项%(number)s没有这条进展反馈。") % {"number": matter.number}, field="feedback")
        _attaching_own_unit(actor, feedback.unit_id, _("进展反馈"))
    if report_id is not None:
        report = access.visible_reports(actor, matter).filter(pk=_id(report_id, "report")).first()
        if report is None:
            raise Invalid(_("事项%(number)s没有这份办理结果。") % {"number": matter.number}, field="report")
        _attaching_own_unit(actor, report.unit_id, _("办理结果"))

    checked = check_upload(upload)
    attachment = Attachment(matter=matter, feedback=feedback, report=report, original_name=checked.name,
                            size=checked.size, content_type=checked.content_type, sha256=checked.sha256,
                            uploaded_by=actor)
    # Storage is not transactional: stored here, removed again if anything below fails.
    attachment.file.save(checked.name, upload, save=False)
    try:
        attachment.save()
        audit.record(actor=actor, action="matter.attach", obj=matter, after={
            "attachment": attachment.pk, "name": checked.name, "size": checked.size,
            "content_type": checked.content_type, "sha256": checked.sha256, "path": attachment.file.name,
            "feedback": feedback.pk if feedback else None, "report": report.pk if report else None})
    except BaseException:
        attachment.file.storage.delete(attachment.file.name)
        raise
    # A rollback of an *enclosing* transaction leaves the stored file without a row (Django has
    # no on-rollback hook); such orphans are harmless and can be swept by comparing storage
    # with the table.
    return attachment


def _attach_all(matter: Matter, actor, files: Iterable, *, feedback_id: int | None = None,
                report_id: int | None = None) -> None:
    """Attach each upload to the feedback or result just recorded (inside its action: a refused
    file undoes the whole record)."""
    for upload in files or ():
        do_attach_file(matter.pk, actor=actor, upload=upload, feedback_id=feedback_id, report_id=report_id)


def _id(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(_("“%(value)s”不是有效的编号。") % {"value": value}, field=field) from None


def _attaching_own_unit(actor, unit_id: int, what: str) -> None:
    if actor.role == Role.UNIT_STAFF and unit_id != actor.unit_id:
        raise NotAllowed(_("单位工作人员只能为本单位的%(what)s上传附件。") % {"what": what})


# --- calendar ----------------------------------------------------------------------------------
@action
def do_set_workdays(entries: list[tuple[date, bool, str]], *, actor) -> int:
    """Enter official holidays / make-up workdays (or county corrections). Appends or corrects
    the county's overrides; every change is audited with the old and new value."""
    if actor.role != Role.COUNTY_ADMIN:
        raise NotAllowed(_("只有县级管理员可以维护工作日历。"))
    changed = 0
    for day, workday, note in entries:
        existing = WorkdayOverride.objects.select_for_update().filter(day=day).first()
        if existing and existing.workday == workday and existing.note == note:
            continue
        before = {"workday": existing.workday, "note": existing.note} if existing else None
        if existing:
            WorkdayOverride.objects.filter(pk=existing.pk).update(workday=workday, note=note, entered_by=actor)
        else:
            WorkdayOverride.objects.create(day=day, workday=workday, note=note, entered_by=actor)
        audit.record(actor=actor, action="calendar.set", object_type="matters.workdayoverride", object_id=day.isoformat(),
                     before=before, after={"workday": workday, "note": note})
        changed += 1
    return changed


@action
def do_confirm_calendar_year(year: int, *, actor, note: str = "") -> CalendarYear:
    """State that ``year``'s holidays and make-up workdays are all entered (audited)."""
    if actor.role != Role.COUNTY_ADMIN:
        raise NotAllowed(_("只有县级管理员可以维护工作日历。"))
    if not 2000 <= year <= 2100:
        raise Invalid(_("年份%(year)s不正确。") % {"year": year}, field="year")
    if CalendarYear.objects.filter(year=year).exists():
        raise Invalid(_("%(year)s年的工作日历已经确认。") % {"year": year}, field="year")
    if not WorkdayOverride.objects.filter(day__year=year).exists():
        raise Invalid(_("%(year)s年还没有录入节假日，请先导入。") % {"year": year}, field="year")
    confirmed = CalendarYear.objects.create(year=year, note=(note or "").strip()[:200], confirmed_by=actor)
    audit.record(actor=actor, action="calendar.confirm_year", object_type="matters.calendaryear",
                 object_id=str(year), after={"year": year, "note": confirmed.note})
    return confirmed


@action
def do_retime_deadlines(*, actor) -> list[tuple[Matter, date, date]]:
    """Recompute provisional deadlines given in working days, now that the calendar knows more.
    Each change is recorded (DeadlineChange + audit) with the old and new date."""
    if actor.role not in (Role.COUNTY_ADMIN, Role.SUPERVISION_STAFF):
        raise NotAllowed(_("只有县级管理员或督查督办人员可以重新计算办结时限。"))
    calendar = county_calendar()
    changes = []
    for matter in Matter.objects.select_for_update().filter(
            deadline_provisional=True, deadline_working_days__isnull=False, assigned_on__isnull=False,
            state__in=[State.ASSIGNED, State.IN_PROGRESS, State.REPORTED, State.REDO]):
        new, provisional = calendar.add_working_days(matter.assigned_on, matter.deadline_working_days)
        if new == matter.deadline and provisional == matter.deadline_provisional:
            continue
        before, old = snapshot(matter), matter.deadline
        if new != old:
            DeadlineChange.objects.create(matter=matter, kind=DeadlineChange.Kind.RETIME, old_deadline=old,
                                          new_deadline=new, reason="按公布的节假日安排重算", changed_by=actor)
        matter.deadline, matter.deadline_provisional = new, provisional
        if new != old:
            deadline_changed.send(Matter, matter=matter, old=old, new=new, kind=DeadlineChange.Kind.RETIME, actor=actor)
        _finish(matter, actor, "retime", before, fields=["deadline", "deadline_provisional"])
        changes.append((matter, old, new))
    # Fixed-date deadlines only stop being provisional once their year is known.
    for matter in Matter.objects.select_for_update().filter(
            deadline_provisional=True, deadline_working_days__isnull=True, deadline__isnull=False,
            state__in=[State.ASSIGNED, State.IN_PROGRESS, State.REPORTED, State.REDO]):
        if calendar.knows(matter.deadline.year):
            before = snapshot(matter)
            matter.deadline_provisional = False
            _finish(matter, actor, "retime", before, fields=["deadline_provisional"],
                    extra={"deadline_provisional": False})
            changes.append((matter, matter.deadline, matter.deadline))
    return changes
