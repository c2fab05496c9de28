"""The documents of reports: the weekly report (《督查专报》) and the annual assessment table
(年度考评表) — their builders, their issuing, who sees them, and their registration with
``duban.documents`` (from ``ReportsConfig.ready``)."""

from __future__ import annotations

import hashlib
from datetime import date

from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from duban.accounts.models import Role, User
from duban.core import clock
from duban.core.actions import action
from duban.core.county import county, county_pack, next_value
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.documents import content as C
from duban.documents import registry
from duban.documents.access import visible_documents
from duban.documents.builders import base, source
from duban.documents.excel import annual_xlsx
from duban.documents.models import Document
from duban.documents.registry import DocumentKind, Sample
from duban.documents.service import Prepared, existing, issue
from duban.documents.texts import document_text
from duban.reports.annual import annual_assessment
from duban.reports.models import WeeklyReport
from duban.scoring.texts import rule_text
from duban.supervision.access import SCORE_READERS


# --- 《督查专报》 -------------------------------------------------------------------------------
def _matter_rows(items: list[dict], columns: list[tuple[str, str]]) -> list[list]:
    return [[index, *(item.get(key, "") for _, key in columns)] for index, item in enumerate(items, 1)]


def weekly_report_content(report, *, leaders: list[str] | None = None) -> dict:
    """The weekly report (五(二)): a bulletin with the week's facts and the staff's text."""
    text = document_text("weekly_report")
    s = report.sections or {}
    on = report.issued_on or clock.today()
    doc = base("weekly_report", text, number=report.number, layout="bulletin", on=on)
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
    heading(f"逾期未办结事项（{len(s.get('overdue', []))}件）")
    listing(s.get("overdue", []), [("事项名称", "title"), ("牵头单位", "unit_name"), ("办结时限", "deadline_cn"),
                                   ("逾期天数", "days_overdue"), ("已采取措施", "last_step")], [7, 35, 16, 16, 10, 16])
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
def annual_assessment_content(data) -> dict:
    """The annual assessment table (五(四)、六): per unit base, deductions by type, final score."""
    pack, text = county_pack(), document_text("annual_assessment")
    doc = base("annual_assessment", text, title=f"{data.year}年{text.title}", layout="table", on=data.as_of)
    if not text.heading:
        doc["blocks"].append(C.p(
            f"根据{source(pack)}考核标准，督查督办工作计入单位年度目标责任考核，基础分{C.amount(data.base)}分，"
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
        f"3．名次按最终得分由高到低排列，得分相同的名次相同；4．扣分标准（依据{source(pack)}）：{legend}。"))
    if any(getattr(c, "proposer_satisfaction", None) for c in pack.scope):
        views = data.proposals or {}
        doc["blocks"].append(C.note(
            f"人大代表建议、政协委员提案办理答复的代表委员意见（{data.year}年度）：满意{views.get('satisfied', 0)}件、"
            f"基本满意{views.get('basically_satisfied', 0)}件、不满意{views.get('unsatisfied', 0)}件。"))
    return doc


# --- issuing -------------------------------------------------------------------------------------
def leader_names() -> list[str]:
    """The county leaders a weekly report is sent to (报), by name."""
    return [u.display_name for u in User.objects.filter(role=Role.COUNTY_LEADER, is_active=True).order_by("id")]


def weekly_report_document(report, *, actor) -> Document:
    """《督查专报》 of an issued weekly report (called by ``do_issue_weekly_report``, in its transaction)."""
    subject = f"weekly_report:{report.pk}"
    already = existing("weekly_report", subject)
    if already:
        return already
    content = weekly_report_content(report, leaders=leader_names())
    return issue(Prepared("weekly_report", subject, report.year, report.seq, report.number, report.issued_on,
                          content, links={"weekly_report": report, "notice": report.notice},
                          objects={"report": report, "notice": report.notice}), actor=actor)


def issued_weekly_report_document(report, *, actor) -> Document:
    """The document of an issued weekly report, as the actor may see it (it is made when the
    report is issued, never here)."""
    report = report if isinstance(report, WeeklyReport) else WeeklyReport.objects.filter(pk=report).first()
    if report is None:
        raise NotFound(_("没有找到该期《督查专报》。"))
    document = report.documents.first()
    if document is None:
        raise Invalid(_("本期《督查专报》还是草稿，印发后才成为公文。"), field="report")
    if not visible_documents(actor).filter(pk=document.pk).exists():
        raise NotFound(_("没有找到该期《督查专报》。"))
    return document


@action
def annual_assessment_document(year: int, *, actor, as_of: date | None = None) -> Document:
    """The annual assessment table as of today: a new document when the figures changed since
    the last one of the year, else that one."""
    if getattr(actor, "role", None) not in SCORE_READERS:
        raise NotAllowed(_("只有督查室和县领导可以查看各单位的考核情况。"))
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise Invalid(_("年份%(year)s不正确。") % {"year": year}, field="year")
    data = annual_assessment(year, as_of=as_of)
    content = annual_assessment_content(data)
    figures = hashlib.sha256(repr([content["blocks"], content["title"], content["office"]]).encode()).hexdigest()[:16]
    subject = f"annual:{year}:{figures}"
    already = existing("annual_assessment", subject)
    if already:
        return already
    seq = next_value(f"document:annual_assessment:{year}")
    return issue(Prepared("annual_assessment", subject, year, seq, "", data.as_of, content,
                          objects={"year": year, "assessment": data}), actor=actor)


def _annual_document(year, *, actor) -> Document:
    return annual_assessment_document(int(year), actor=actor)


# --- who sees them (beyond the supervision office, which sees every document) ------------------------
def _weekly_report_visible(user) -> Q | None:
    if user.role == Role.COUNTY_LEADER:
        return Q()  # every issued report
    if user.role == Role.UNIT_STAFF and user.unit_id:  # the reports that name the unit
        return Q(weekly_report__named_units=user.unit_id)
    return None


def _annual_assessment_visible(user) -> Q | None:
    return Q() if user.role == Role.COUNTY_LEADER else None


# --- `duban documents sample` ------------------------------------------------------------------------
def _weekly_report_sample(*, actor, year) -> Sample:
    report = WeeklyReport.objects.filter(status=WeeklyReport.Status.ISSUED).order_by("-issued_at").first()
    if report is not None:
        return Sample(document=report.documents.first(), note=f"{report.period_start}..{report.period_end}")
    draft = WeeklyReport.objects.filter(status=WeeklyReport.Status.DRAFT).first()
    slug = county().slug
    return Sample(missing=f"no issued weekly report: draft #{draft.pk} waits (duban report weekly issue --county {slug})"
                  if draft else f"no weekly report yet (duban report weekly draft --county {slug})")


def _annual_assessment_sample(*, actor, year) -> Sample:
    return Sample(document=annual_assessment_document(year, actor=actor), note=str(year))


# --- registration (ReportsConfig.ready) ----------------------------------------------------------------
def register_documents() -> None:
    registry.register(
        DocumentKind("weekly_report", issued_weekly_report_document, visible=_weekly_report_visible,
                     sample=_weekly_report_sample),
        DocumentKind("annual_assessment", _annual_document, visible=_annual_assessment_visible, word=False,
                     xlsx=annual_xlsx, sample=_annual_assessment_sample))
