"""Content builders: records → the content of each kind of document (see ``content``).

Every fixed text comes from the county's text of the document (the pack's ``documents`` with the
county's overrides, ``texts.document_text``); where the pack leaves a text empty the builders
write a plain default sentence. Builders read, never write.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone, translation

from duban.core import clock
from duban.core.county import county_pack
from duban.documents import content as C
from duban.documents.texts import document_text
from duban.matters.models import CollectionRound, Matter, MatterUnit, Notice
from duban.scoring.texts import rule_text
from duban.supervision import circulars

BLANK_ROWS = 8  # a collection form always has room to write in
CIRCULAR_RECIPIENT = "各乡镇人民政府，县直各部门"


def _signature(text) -> list[str]:
    return list(text.signature_lines) or [text.issuing_office]


def _base(kind: str, text, *, number: str = "", title: str | None = None, layout: str = "official",
          on: date | None = None) -> dict:
    doc = C.new(kind, office=text.issuing_office, title=title or text.title, number=number, layout=layout,
                signature=_signature(text), copy_to=list(text.copy_to), closing=text.closing, format=text.format,
                date=(on or clock.today()).isoformat())
    if text.heading:
        doc["blocks"].append(C.p(text.heading))
    return doc


def _source(pack) -> str:
    return f"《{pack.source}》" if pack.source else "督查督办工作有关规定"


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
def collection_form(round_: CollectionRound | None, *, number: str = "") -> dict:
    """The form sent to leaders to collect matters (三(一)): the round's matters so far, and
    blank rows to write in. Without a round: the blank form."""
    pack, text = county_pack(), document_text("collection_form")
    on = timezone.localtime(round_.opened_at).date() if round_ else clock.today()
    doc = _base("collection_form", text, number=number, on=on)
    if round_ is not None:
        doc["recipient"] = "、".join(u.display_name for u in round_.leaders.order_by("id"))
    if not text.heading:
        due = f"于{C.cn_date(round_.due_date)}前" if round_ else "按时"
        doc["blocks"].append(C.p(f"根据{_source(pack)}，现将《{text.title}》表送上。请将需要督办的事项填入下表，"
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
def assignment_notice(notice: Notice) -> dict:
    """The notice that assigns a matter to its units (三(二)): task, requirements, deadline."""
    pack, text = county_pack(), document_text("assignment_notice")
    matter = notice.matter
    lead, cos = _units(matter)
    doc = _base("assignment_notice", text, number=notice.number, on=matter.assigned_on)
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


# --- 《督查督办通知单》 -------------------------------------------------------------------------
def supervision_notice(notice: Notice) -> dict:
    """The written notice of the ladder's second tier (四(二)) to the unit that is behind."""
    from duban.supervision.models import EscalationStep

    pack, text = county_pack(), document_text("supervision_notice")
    step = notice.steps.select_related("matter", "unit").first()
    if step is None:
        raise ValueError(f"notice {notice.number} belongs to no supervision step")
    matter, unit, on = step.matter, step.unit, step.recorded_on or clock.today()
    assigned = matter.notices.filter(kind="assignment_notice").order_by("id").first()
    doc = _base("supervision_notice", text, number=notice.number, on=on)
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
            f"根据{_source(pack)}，现予书面督办。"))
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
def circular(circular) -> dict:
    """A circular (五(三)): praise the best, criticise the laggards, the units' ranking."""
    text = document_text("circular")
    on = circular.published_on or clock.today()
    doc = _base("circular", text, number=circular.notice.number if circular.notice else "", title=circular.title,
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
            f"其中按期办结{total['on_time']}件；超期未办结{total['overdue']}件；共采取督办措施{total['steps_total']}次，"
            f"退回复办{total['redos']}次。"),
        C.h1("二、表扬单位"),
        *(praised or [C.p("本期无。")]),
        C.h1("三、批评单位"),
        *(criticism or [C.p("本期无。")]),
        C.h1("四、各单位落实情况"),
        C.table(["名次", "单位", "承办", "已到期", "办结", "按期办结", "按期办结率", "超期", "督办措施", "复办"],
                [[row.get("rank"), row.get("name"), row.get("assigned"), row.get("due", "—"),
                  row.get("completed"), row.get("on_time"),
                  "—" if row.get("on_time_rate") is None else f"{row['on_time_rate'] * 100:.1f}%",
                  row.get("overdue"), row.get("steps_total"), row.get("redos")] for row in rows],
                widths=[7, 23, 7, 8, 7, 9, 11, 7, 9, 7], numeric=[0, 2, 3, 4, 5, 7, 8, 9]),
        C.note(f"注：承办，指通报期内交办、由该单位牵头的督办事项（已取消的除外）；已到期，指其中已办结或已超过办结时限的事项；"
               f"按期办结率＝按期办结÷已到期，无到期事项的记“—”，排在最后；超期，指截至{as_of_day}超过办结时限仍未办结的事项"
               f"（含以前各期交办的）；督办措施，指通报期内对该单位采取督办措施的次数；复办，指通报期内退回该单位复办的次数。"
               f"名次按按期办结率由高到低排列，相同的依次按督办措施、超期件数由少到多排列。"),
    ]
    if not text.closing:
        doc["closing"] = "希望受到表扬的单位再接再厉；受到批评的单位认真查找原因，限期整改，确保交办事项件件有着落、事事有回音。"
    return doc


# --- 《督查专报》 -------------------------------------------------------------------------------
def _matter_rows(items: list[dict], columns: list[tuple[str, str]]) -> list[list]:
    return [[index, *(item.get(key, "") for _, key in columns)] for index, item in enumerate(items, 1)]


def weekly_report(report, *, leaders: list[str] | None = None) -> dict:
    """The weekly report (五(二)): a bulletin with the week's facts and the staff's text."""
    text = document_text("weekly_report")
    s = report.sections or {}
    on = report.issued_on or clock.today()
    doc = _base("weekly_report", text, number=report.number, layout="bulletin", on=on)
    doc["mark"] = text.title
    # A bulletin (简报) prints its issue as 第N期; the year is in the date beside the issuing office.
    doc["issue_line"] = f"第{report.seq}期" if report.seq else "（草稿）"
    doc["title"] = "本周督查督办工作情况"
    doc["subtitle"] = f"（{C.cn_month_day(report.period_start)}—{C.cn_month_day(report.period_end)}）"
    doc["draft"] = report.seq is None
    blocks = doc["blocks"]
    n = 0

    def heading(label: str):
        nonlocal n
        blocks.append(C.h1(f"{C.ordinal(n)}、{label}"))
        n += 1

    def listing(items: list[dict], columns: list[tuple[str, str]], widths: list[int]):
        if items:
            blocks.append(C.table(["序号", *(label for label, _ in columns)], _matter_rows(items, columns),
                                  widths=widths, numeric=[0]))
        else:
            blocks.append(C.p("无。"))

    heading("总体情况")
    blocks += C.paragraphs(report.summary) or [C.p("无。")]
    heading(f"本周新交办事项（{len(s.get('new', []))}件）")
    listing(s.get("new", []), [("事项名称", "title"), ("牵头单位", "unit_name"), ("办结时限", "deadline_cn")],
            [8, 50, 22, 20])
    heading(f"本周办结事项（{len(s.get('closed', []))}件）")
    listing(s.get("closed", []), [("事项名称", "title"), ("牵头单位", "unit_name"), ("办结日期", "closed_cn"),
                                  ("是否按期", "on_time_cn")], [8, 44, 20, 16, 12])
    heading(f"超期未办结事项（{len(s.get('overdue', []))}件）")
    listing(s.get("overdue", []), [("事项名称", "title"), ("牵头单位", "unit_name"), ("办结时限", "deadline_cn"),
                                   ("超期天数", "days_overdue"), ("已采取措施", "last_step")], [7, 35, 16, 16, 10, 16])
    heading(f"红灯事项（{len(s.get('red', []))}件）")
    listing(s.get("red", []), [("事项名称", "title"), ("牵头单位", "unit_name"), ("原因", "reason")],
            [8, 50, 20, 22])
    heading(f"本周督办措施（{len(s.get('steps', []))}次）")
    listing(s.get("steps", []), [("日期", "on_cn"), ("事项名称", "title"), ("单位", "unit_name"),
                                 ("督办方式", "tier_label"), ("文号", "notice")], [7, 12, 31, 16, 16, 18])
    heading("各单位反馈情况")
    feedback = s.get("feedback", [])
    if feedback:
        blocks.append(C.table(["单位", "在办事项", "本周反馈", "反馈逾期", "按时反馈率"],
                              [[row["unit_name"], row["matters"], row["given"], row["overdue"],
                                "—" if row["rate"] is None else f"{row['rate'] * 100:.0f}%"] for row in feedback],
                              widths=[36, 16, 16, 16, 16], numeric=[1, 2, 3]))
    else:
        blocks.append(C.p("本周无要求定期反馈的在办事项。"))
    views = s.get("proposals") or {}
    if any(views.values()):  # 人大代表建议、政协委员提案 answered this week
        heading("建议提案办理答复情况")
        blocks.append(C.p(f"本周人大代表建议、政协委员提案办理答复{sum(views.values())}件，代表委员满意"
                          f"{views.get('satisfied', 0)}件、基本满意{views.get('basically_satisfied', 0)}件、"
                          f"不满意{views.get('unsatisfied', 0)}件（不满意的已重新办理、再次答复）。"))
    heading("提请领导关注事项")
    items = s.get("attention", [])
    for index, item in enumerate(items, 1):
        blocks.append(C.p(f"{index}．{item['text']}"))
    blocks += C.paragraphs(report.attention)
    if not items and not report.attention.strip():
        blocks.append(C.p("无。"))
    doc["distribution"] = [["报", "、".join(leaders or []) or "县政府领导"],
                           ["送", "、".join(u.name for u in report.named_units.order_by("kind", "code")) or "各有关单位"]]
    return doc


# --- 年度考评表 ----------------------------------------------------------------------------------
def annual_assessment(data) -> dict:
    """The annual assessment table (五(四)、六): per unit base, deductions by type, final score."""
    pack, text = county_pack(), document_text("annual_assessment")
    doc = _base("annual_assessment", text, title=f"{data.year}年{text.title}", layout="table", on=data.as_of)
    if not text.heading:
        doc["blocks"].append(C.p(
            f"根据{_source(pack)}考核标准，督查督办工作计入单位年度目标责任考核，基础分{C.amount(data.base)}分，"
            f"按扣分标准扣减，扣完为止。现将{data.year}年度考评结果列表如下（数据截至{C.cn_date(data.as_of)}）。"))
    columns = ["序号", "名次", "单位", "类型", "基础分", *(column.label for column in data.columns), "扣分合计", "最终得分"]
    rows = []
    for index, row in enumerate(data.rows, 1):
        rows.append([index, row.rank, row.unit_name, row.kind_label, C.score(data.base),
                     *(C.amount(row.deductions.get(column.code)) or "0" for column in data.columns),
                     C.amount(row.total), C.score(row.score)])
    events = len(data.columns)
    numeric = [0, 1, 4, *range(5, 5 + events), 5 + events, 6 + events]
    share = (100 - 5 - 5 - 14 - 6 - 6 - 7 - 7) / max(events, 1)
    widths = [5, 5, 14, 6, 6, *([round(share, 1)] * events), 7, 7]
    doc["blocks"].append(C.table(columns, rows, numeric=numeric, widths=widths))
    with translation.override("zh-hans"):  # a document of the county office: its rules in Chinese
        legend = "；".join(rule_text(rule) for rule in pack.schedule.events if rule.amount)
    doc["blocks"].append(C.note(
        f"说明：1．扣分按发生日期计入考核年度，已冲正的扣分不计；2．扣分合计超过基础分的，得分按{C.amount(data.floor)}分计；"
        f"3．名次按最终得分由高到低排列，得分相同的名次相同；4．扣分标准（依据{_source(pack)}）：{legend}。"))
    if any(getattr(c, "proposer_satisfaction", None) for c in pack.scope):
        views = data.proposals or {}
        doc["blocks"].append(C.note(
            f"人大代表建议、政协委员提案办理答复的代表委员意见（{data.year}年度）：满意{views.get('satisfied', 0)}件、"
            f"基本满意{views.get('basically_satisfied', 0)}件、不满意{views.get('unsatisfied', 0)}件。"))
    return doc
