"""The documents of supervision: the supervision notice (《督查督办通知单》, the ladder's written
notice) and the circular (通报) — their builders, their issuing, who sees them, and their
registration with ``duban.documents`` (from ``SupervisionConfig.ready``)."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.core import clock
from duban.core.actions import action
from duban.core.county import county_pack
from duban.core.errors import Invalid, NotFound
from duban.documents import content as C
from duban.documents import registry
from duban.documents.builders import base, source
from duban.documents.models import Document
from duban.documents.registry import DocumentKind, Sample
from duban.documents.service import Prepared, existing, issue
from duban.documents.texts import document_text
from duban.matters.access import visible_matters
from duban.matters.models import Notice
from duban.supervision import circulars
from duban.supervision.access import visible_circulars, visible_steps
from duban.supervision.models import Circular, EscalationStep

CIRCULAR_RECIPIENT = "各乡镇人民政府，县直各部门"


# --- 《督查督办通知单》 -------------------------------------------------------------------------
def supervision_notice_content(notice: Notice) -> dict:
    """The written notice of the ladder's second tier (四(二)) to the unit that is behind."""
    pack, text = county_pack(), document_text("supervision_notice")
    step = notice.steps.select_related("matter", "unit").first()
    if step is None:
        raise ValueError(f"notice {notice.number} belongs to no supervision step")
    matter, unit, on = step.matter, step.unit, step.recorded_on or clock.today()
    assigned = matter.notices.filter(kind="assignment_notice").order_by("id").first()
    doc = base("supervision_notice", text, number=notice.number, on=on)
    doc["recipient"] = unit.name
    if matter.deadline and matter.deadline < on:
        state = f"已超过办结时限{(on - matter.deadline).days}天，尚未办结"
    else:
        state = "进度滞后，未按要求反馈进展"
    if not text.heading:
        doc["blocks"].append(C.p(
            f"你单位承办的“{matter.title}”（登记编号{matter.number}"
            + (f"，交办文号{assigned.number}" if assigned else "")
            + f"），办结时限为{C.cn_date(matter.deadline)}。截至{C.cn_date(on)}，该事项{state}。"
            f"根据{source(pack)}，现予书面督办。"))
    earlier = (EscalationStep.objects.filter(matter=matter, unit=unit, status=EscalationStep.Status.RECORDED,
                                             tier_index__lt=step.tier_index)
               .order_by("recorded_on", "id"))
    taken = "；".join(f"{C.cn_date(s.recorded_on)}{pack.tier(s.tier).label.zh if pack.tier(s.tier) else s.tier}"
                     for s in earlier) or "—"
    evidence = step.evidence or {}
    doc["blocks"].append(C.fields([
        ("事项名称", matter.title),
        ("登记编号", matter.number),
        ("交办文号", assigned.number if assigned else "—"),
        ("办结时限", C.cn_date(matter.deadline) or "—"),
        ("已采取督办措施", taken),
        ("督办要求", evidence.get("requirements") or "加快推进，尽快办结"),
        ("专题答复期限", C.cn_date(step.reply_due_on or evidence.get("reply_due")) or "—"),
    ]))
    return doc


# --- 通报 -------------------------------------------------------------------------------------
def circular_content(circular) -> dict:
    """A circular (五(三)): praise the best, criticise the laggards, the units' ranking."""
    text = document_text("circular")
    on = circular.published_on or clock.today()
    doc = base("circular", text, number=circular.notice.number if circular.notice else "", title=circular.title,
                on=on)
    doc["recipient"] = CIRCULAR_RECIPIENT
    rows = circular.ranking or []
    period = f"{C.cn_date(circular.period_start)}至{C.cn_date(circular.period_end)}"
    if circular.body:
        doc["blocks"] += C.paragraphs(circular.body)
    elif not text.heading:
        doc["blocks"].append(C.p(f"为推动县政府领导交办事项落实，现将{period}各单位督办事项落实情况通报如下。"))
    total = {key: sum(row.get(key) or 0 for row in rows) for key in ("assigned", "completed", "on_time", "overdue",
                                                                      "steps_total", "redos")}
    working = sum(1 for row in rows if row.get("assigned"))
    by_code = {row.get("unit"): row for row in rows}

    def said(kind: str, units) -> list:
        # Each unit's sentence from its own record of the period (the pack's templates).
        return [C.p(circulars.sentence(kind, by_code.get(u.code, {"unit": u.code, "name": u.name, "assigned": 0})))
                for u in units]

    praised = said("praise", circular.praised.order_by("kind", "code"))
    criticism = (said("named", circular.named.order_by("kind", "code"))
                 + said("criticism", circular.criticised.order_by("kind", "code")))
    as_of_day = C.cn_date(circular.published_on or on)
    doc["blocks"] += [
        C.h1("一、总体情况"),
        C.p(f"{period}，{working}个单位共承办督办事项{total['assigned']}件，已办结{total['completed']}件，"
            f"其中按期办结{total['on_time']}件；逾期未办结{total['overdue']}件；共采取督办措施{total['steps_total']}次，"
            f"退回复办{total['redos']}次。"),
        C.h1("二、表扬单位"),
        *(praised or [C.p("本期无。")]),
        C.h1("三、批评单位"),
        *(criticism or [C.p("本期无。")]),
        C.h1("四、各单位落实情况"),
        C.table(["名次", "单位", "承办", "已到期", "办结", "按期办结", "按期办结率", "逾期", "督办措施", "复办"],
                [[row.get("rank"), row.get("name"), row.get("assigned"), row.get("due", "—"),
                  row.get("completed"), row.get("on_time"),
                  "—" if row.get("on_time_rate") is None else f"{row['on_time_rate'] * 100:.1f}%",
                  row.get("overdue"), row.get("steps_total"), row.get("redos")] for row in rows],
                widths=[7, 23, 7, 8, 7, 9, 11, 7, 9, 7], numeric=[0, 2, 3, 4, 5, 7, 8, 9]),
        C.note(f"注：承办，指通报期内交办、由该单位牵头的督办事项（已取消的除外）；已到期，指其中已办结或已超过办结时限的事项；"
               f"按期办结率＝按期办结÷已到期，无到期事项的记“—”，排在最后；逾期，指截至{as_of_day}超过办结时限仍未办结的事项"
               f"（含以前各期交办的）；督办措施，指通报期内对该单位采取督办措施的次数；复办，指通报期内退回该单位复办的次数。"
               f"名次按按期办结率由高到低排列，相同的依次按督办措施、逾期件数由少到多排列。"),
    ]
    if not text.closing:
        doc["closing"] = "希望受到表扬的单位再接再厉；受到批评的单位认真查找原因，限期整改，确保交办事项件件有着落、事事有回音。"
    return doc


# --- issuing -------------------------------------------------------------------------------------
@action
def supervision_notice_document(step, *, actor) -> Document:
    """《督查督办通知单》 of a recorded written-notice step."""
    if not isinstance(step, EscalationStep):
        step = visible_steps(actor).filter(pk=step).select_related("matter", "unit", "notice").first()
        if step is None:
            raise NotFound(_("没有找到这项督办措施。"))
    elif not visible_steps(actor).filter(pk=step.pk).exists():
        raise NotFound(_("没有找到这项督办措施。"))
    if step.notice_id is None:
        raise Invalid(_("这项督办措施没有发出督办通知（只有已记录的书面督办才发通知）。"), field="step")
    notice = step.notice
    subject = f"notice:{notice.pk}"
    already = existing("supervision_notice", subject)
    if already:
        return already
    return issue(Prepared("supervision_notice", subject, notice.year, notice.seq, notice.number,
                          step.recorded_on or clock.today(), supervision_notice_content(notice),
                          links={"matter": step.matter, "unit": step.unit, "notice": notice},
                          objects={"matter": step.matter, "step": step, "notice": notice}), actor=actor)


# Publishing a circular (actions.do_publish_circular) prints it inside its transaction, so a circular
# whose PDF cannot be made is not numbered.
@action
def circular_document(circular, *, actor) -> Document:
    """通报 of a published circular."""
    pk = circular.pk if isinstance(circular, Circular) else circular
    circular = visible_circulars(actor).filter(pk=pk).select_related("notice").first()
    if circular is None:
        raise NotFound(_("没有找到该通报。"))
    if circular.notice_id is None:
        raise Invalid(_("该通报还是草稿，督查室主任发布时才编号。"), field="circular")
    notice = circular.notice
    subject = f"notice:{notice.pk}"
    already = existing("circular", subject)
    if already:
        return already
    return issue(Prepared("circular", subject, notice.year, notice.seq, notice.number,
                          circular.published_on or clock.today(), circular_content(circular),
                          links={"circular": circular, "notice": notice},
                          objects={"circular": circular, "notice": notice}), actor=actor)


# --- who sees them (beyond the supervision office, which sees every document) ------------------------
def _supervision_notice_visible(user) -> Q | None:
    if user.role == Role.COUNTY_LEADER:
        return Q(matter__in=visible_matters(user).values("pk"))
    if user.role == Role.UNIT_STAFF and user.unit_id:  # the unit it was sent to
        return Q(unit_id=user.unit_id)
    return None


def _circular_visible(user) -> Q | None:
    if user.role == Role.COUNTY_LEADER or (user.role == Role.UNIT_STAFF and user.unit_id):
        return Q()  # every circular
    return None


# --- `duban documents sample` ------------------------------------------------------------------------
def _supervision_notice_sample(*, actor, year) -> Sample:
    step = (EscalationStep.objects.filter(notice__isnull=False, notice__kind="supervision_notice")
            .order_by("-recorded_on", "-id").first())
    if step is None:
        return Sample(missing="no written-notice step has been recorded (duban supervision … / POST /api/v1/steps/)")
    return Sample(document=supervision_notice_document(step, actor=actor), note=step.matter.number)


def _circular_sample(*, actor, year) -> Sample:
    circular = Circular.objects.filter(status=Circular.Status.PUBLISHED).order_by("-published_at").first()
    if circular is None:
        return Sample(missing="no circular has been published (duban supervision circular …)")
    return Sample(document=circular_document(circular, actor=actor), note=circular.title)


# --- registration (SupervisionConfig.ready) ------------------------------------------------------------
def register_documents() -> None:
    registry.register(
        DocumentKind("supervision_notice", supervision_notice_document, visible=_supervision_notice_visible,
                     sample=_supervision_notice_sample),
        DocumentKind("circular", circular_document, visible=_circular_visible, sample=_circular_sample))
