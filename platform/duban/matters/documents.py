"""The documents made of matters: the collection form (《需要督办事项》), the assignment notice
(《重点事项交办通知单》), the register book of matters (登记簿) and the office's list export —
their builders, their issuing, who sees them, and their registration with ``duban.documents``
(from ``MattersConfig.ready``)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.core import clock
from duban.core.actions import action
from duban.core.county import county, county_pack
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.core.spreadsheet import Line, table_xlsx
from duban.documents import content as C
from duban.documents import registry
from duban.documents.builders import base, source
from duban.documents.models import Document
from duban.documents.numbering import next_notice_number
from duban.documents.registry import DocumentKind, Sample, SampleFile
from duban.documents.service import Prepared, existing, issue
from duban.documents.texts import document_text
from duban.matters.access import ALL_MATTERS_ROLES, visible_matters
from duban.matters.models import CollectionRound, Matter, MatterUnit, Notice

BLANK_ROWS = 8  # a collection form always has room to write in


def _units(matter: Matter) -> tuple[MatterUnit | None, list[MatterUnit]]:
    links = list(matter.units.select_related("unit").order_by("-role", "id"))
    lead = next((link for link in links if link.role == MatterUnit.Role.LEAD), None)
    return lead, [link for link in links if link.role == MatterUnit.Role.CO]


def _deadline_text(matter: Matter) -> str:
    if matter.deadline is None:
        return "—"
    text = C.cn_date(matter.deadline)
    if matter.deadline_working_days:
        text += f"（{matter.deadline_working_days}个工作日）"
    if matter.deadline_provisional:
        text += "（节假日安排未公布，暂定）"
    return text


# --- 《需要督办事项》 ---------------------------------------------------------------------------
def collection_form_content(round_: CollectionRound | None, *, number: str = "") -> dict:
    """The form sent to leaders to collect matters (三(一)): the round's matters so far, and
    blank rows to write in. Without a round: the blank form."""
    pack, text = county_pack(), document_text("collection_form")
    on = timezone.localtime(round_.opened_at).date() if round_ else clock.today()
    doc = base("collection_form", text, number=number, on=on)
    if round_ is not None:
        doc["recipient"] = "、".join(u.display_name for u in round_.leaders.order_by("id"))
    if not text.heading:
        due = f"于{C.cn_date(round_.due_date)}前" if round_ else "按时"
        doc["blocks"].append(C.p(f"根据{source(pack)}，现将《{text.title}》表送上。请将需要督办的事项填入下表，"
                                 f"写明事项内容、要求和建议的责任单位，{due}交{text.issuing_office}。"))
    if round_ is not None:
        doc["blocks"].append(C.fields([("征集轮次", round_.title), ("截止日期", C.cn_date(round_.due_date))]
                                      + ([("说明", round_.note)] if round_.note else [])))
    rows = []
    matters = (round_.matters.select_related("proposed_by").prefetch_related("proposed_units").order_by("number")
               if round_ else [])
    for index, matter in enumerate(matters, 1):
        rows.append([index, matter.title, matter.content,
                     "、".join(u.name for u in matter.proposed_units.all()) or "",
                     C.cn_date(matter.requested_deadline), matter.proposed_by.display_name])
    for index in range(len(rows) + 1, max(BLANK_ROWS, len(rows) + 2) + 1):
        rows.append([index, "", "", "", "", ""])
    doc["blocks"].append(C.table(["序号", "事项名称", "事项内容及要求", "建议责任单位", "要求完成时间", "提出领导"], rows,
                                 widths=[7, 18, 33, 16, 14, 12], numeric=[0]))
    return doc


# --- 《重点事项交办通知单》 ---------------------------------------------------------------------
def assignment_notice_content(notice: Notice) -> dict:
    """The notice that assigns a matter to its units (三(二)): task, requirements, deadline."""
    pack, text = county_pack(), document_text("assignment_notice")
    matter = notice.matter
    lead, cos = _units(matter)
    doc = base("assignment_notice", text, number=notice.number, on=matter.assigned_on)
    doc["recipient"] = "、".join(link.unit.name for link in ([lead] if lead else []) + cos)
    if not text.heading:
        approver = matter.approved_by.display_name if matter.approved_by else "县政府领导"
        doc["blocks"].append(C.p(f"经{approver}同意，现将下列重点事项交你单位办理。请高度重视，明确责任人，"
                                 f"按照要求抓好落实，并按时反馈进展、报送结果。"))
    category = pack.category(matter.category)
    doc["blocks"].append(C.fields([
        ("登记编号", matter.number),
        ("事项名称", matter.title),
        ("督办类别", category.label.zh if category else matter.category),
        ("事项来源", matter.source_reference or "—"),
        ("事项内容", matter.content),
        ("办理要求", matter.requirements or "—"),
        ("牵头单位", lead.unit.name if lead else "—"),
        ("协办单位", "、".join(link.unit.name for link in cos) or "—"),
        ("办结时限", _deadline_text(matter)),
        ("反馈要求", f"每{matter.feedback_every_working_days}个工作日反馈一次进展" if matter.feedback_every_working_days
         else "按要求及时反馈进展"),
        ("立项领导", matter.approved_by.display_name if matter.approved_by else "—"),
    ]))
    return doc


# --- issuing -------------------------------------------------------------------------------------
def _office_only(actor, what: str):
    if getattr(actor, "role", None) not in ALL_MATTERS_ROLES:
        raise NotAllowed(_("只有督查室可以%(what)s。") % {"what": what})


def _matter(matter, actor) -> Matter:
    if not isinstance(matter, Matter):
        try:
            matter = Matter.objects.get(pk=int(matter))
        except (Matter.DoesNotExist, TypeError, ValueError):
            raise NotFound(_("没有找到该事项。")) from None
    if not visible_matters(actor).filter(pk=matter.pk).exists():
        raise NotFound(_("没有找到该事项。"))
    return matter


@action
def assignment_notice_document(matter: Matter | int, *, actor) -> Document:
    """《重点事项交办通知单》 of an assigned matter (its assignment notice)."""
    matter = _matter(matter, actor)
    notice = matter.notices.filter(kind="assignment_notice").order_by("id").first()
    if notice is None:
        raise Invalid(_("事项%(number)s尚未交办，还没有交办通知。") % {"number": matter.number}, field="matter")
    subject = f"notice:{notice.pk}"
    already = existing("assignment_notice", subject)
    if already:
        return already
    return issue(Prepared("assignment_notice", subject, notice.year, notice.seq, notice.number,
                          matter.assigned_on or clock.today(), assignment_notice_content(notice),
                          links={"matter": matter, "unit": notice.unit, "notice": notice},
                          objects={"matter": matter, "notice": notice}), actor=actor)


@action
def collection_form_document(round_, *, actor) -> Document:
    """《需要督办事项》 of a collection round; numbered when first printed."""
    _office_only(actor, _("打印事项征集表"))
    if not isinstance(round_, CollectionRound):
        round_ = CollectionRound.objects.filter(pk=round_).first()
        if round_ is None:
            raise NotFound(_("没有找到该次事项征集。"))
    subject = f"round:{round_.pk}"
    already = existing("collection_form", subject)
    if already:
        return already
    CollectionRound.objects.select_for_update().get(pk=round_.pk)  # one number per round
    already = existing("collection_form", subject)
    if already:
        return already
    on = timezone.localtime(round_.opened_at).date()
    seq, number = next_notice_number("collection_form", on.year)
    notice = Notice.objects.create(kind="collection_form", year=on.year, seq=seq, number=number, issued_by=actor)
    return issue(Prepared("collection_form", subject, on.year, seq, number, on, collection_form_content(round_, number=number),
                          links={"round": round_, "notice": notice}, objects={"round": round_, "notice": notice}),
                 actor=actor)


# --- who sees them (beyond the supervision office, which sees every document) ------------------------
def _collection_form_visible(user) -> Q | None:
    if user.role == Role.COUNTY_LEADER:  # the leaders the round asked
        return Q(round__leaders=user)
    return None


def _assignment_notice_visible(user) -> Q | None:
    if user.role == Role.COUNTY_LEADER:
        return Q(matter__in=visible_matters(user).values("pk"))
    if user.role == Role.UNIT_STAFF and user.unit_id:  # the lead unit and the co-operating units
        return Q(unit_id=user.unit_id) | Q(matter__units__unit_id=user.unit_id)
    return None


# --- `duban documents sample` ------------------------------------------------------------------------
def _collection_form_sample(*, actor, year) -> Sample:
    """The latest collection round's form, else the blank form."""
    round_ = CollectionRound.objects.order_by("-opened_at", "-id").first()
    if round_ is not None:
        return Sample(document=collection_form_document(round_, actor=actor), note=f"round “{round_.title}”")
    return Sample(content=collection_form_content(None), note="no collection round in this county: the blank form (not numbered)")


def _assignment_notice_sample(*, actor, year) -> Sample:
    matter = (Matter.objects.filter(notices__kind="assignment_notice").exclude(state="cancelled")
              .order_by("-assigned_at", "-id").first())
    if matter is None:
        return Sample(missing="no matter has been assigned yet")
    return Sample(document=assignment_notice_document(matter, actor=actor), note=matter.number)


# --- spreadsheets --------------------------------------------------------------------------------------
def register_book_xlsx(matters=None) -> bytes:
    """The register book (登记造册): every matter with its category, units, deadline and state;
    or only ``matters`` (a queryset: the web's register book, the matters its user may see)."""
    pack = county_pack()
    columns = ["登记编号", "事项名称", "督办类别", "事项来源", "提出领导", "立项领导", "牵头单位", "协办单位", "交办文号",
               "交办日期", "办结时限", "状态", "复办次数"]
    rows = []
    matters = ((Matter.objects.all() if matters is None else matters).select_related("proposed_by", "approved_by")
               .prefetch_related("units__unit", "notices").order_by("number"))
    for m in matters:
        links = list(m.units.all())
        lead = next((link.unit.name for link in links if link.role == MatterUnit.Role.LEAD), "")
        cos = "、".join(link.unit.name for link in links if link.role == MatterUnit.Role.CO)
        notice = next((n.number for n in m.notices.all() if n.kind == "assignment_notice"), "")
        category = pack.category(m.category)
        rows.append([m.number, m.title, category.label.zh if category else m.category, m.source_reference,
                     m.proposed_by.display_name, m.approved_by.display_name if m.approved_by else "", lead, cos, notice,
                     m.assigned_on.isoformat() if m.assigned_on else "", m.deadline.isoformat() if m.deadline else "",
                     str(m.get_state_display()), m.redo_count])
    return table_xlsx("督办事项登记簿", columns, rows, numeric={0, 9, 10, 11, 12},
                      widths=[12, 34, 24, 16, 10, 10, 18, 22, 20, 12, 12, 10, 8], frozen_columns=2, grid=True,
                      headings=[Line(f"{county().name}督办事项登记簿", size=16, bold=True)])


EXPORT_HEADERS = [gettext_lazy("登记编号"), gettext_lazy("事项名称"), gettext_lazy("督办类别"), gettext_lazy("状态"),
                  gettext_lazy("提出领导"), gettext_lazy("牵头单位"), gettext_lazy("协办单位"), gettext_lazy("办理要求"),
                  gettext_lazy("交办日期"), gettext_lazy("办结时限"), gettext_lazy("下次反馈日期"), gettext_lazy("复办次数"),
                  gettext_lazy("办结时间")]


def matter_list_xlsx(matters, categories: dict[str, str]) -> bytes:
    """The office's export of a list of matters (the matters page's “导出”): one row per matter,
    dates as dates, in the user's language. ``matters`` come with their units prefetched;
    ``categories`` maps category codes to labels."""
    rows = []
    for matter in matters:
        units = list(matter.units.all())
        lead = next((u.unit.name for u in units if u.role == MatterUnit.Role.LEAD), "")
        cos = "、".join(u.unit.name for u in units if u.role == MatterUnit.Role.CO)
        closed = timezone.localtime(matter.closed_at).replace(tzinfo=None) if matter.closed_at else None
        rows.append([
            matter.number, matter.title, categories.get(matter.category, matter.category), matter.get_state_display(),
            matter.proposed_by.display_name, lead, cos, matter.requirements, matter.assigned_on, matter.deadline,
            matter.feedback_due_on, matter.redo_count, closed])
    return table_xlsx(gettext("督办事项"), [str(h) for h in EXPORT_HEADERS], rows,
                      widths=[12, 40, 22, 10, 12, 18, 24, 40, 12, 12, 14, 10, 18],
                      formats={8: "yyyy-mm-dd", 9: "yyyy-mm-dd", 10: "yyyy-mm-dd", 12: "yyyy-mm-dd hh:mm"},
                      auto_filter=True)


# --- registration (MattersConfig.ready) ----------------------------------------------------------------
def register_documents() -> None:
    registry.register(
        DocumentKind("collection_form", collection_form_document, visible=_collection_form_visible,
                     sample=_collection_form_sample),
        DocumentKind("assignment_notice", assignment_notice_document, visible=_assignment_notice_visible,
                     sample=_assignment_notice_sample))
    registry.register_file(SampleFile("register_book", "督办事项登记簿", "register_book.xlsx", register_book_xlsx))
