"""Official documents from data built here through the real actions: every kind as PDF (the
Chinese text comes back out with pdftotext; pdffonts shows the Noto CJK fonts embedded), Word
(reopened with python-docx: paragraphs and East-Asian fonts) and Excel (reopened with openpyxl:
the scores of the ledger); the verification page; numbering; the county's own texts."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, make_cast, proposed, to_state
from test_csp import inline_elements_outside_the_policy

from duban.audit.models import AuditEvent
from duban.core import clock
from duban.core.clock import as_of
from duban.core.errors import Invalid, NotAllowed
from duban.documents import service
from duban.documents.access import access_document_by_id
from duban.documents.actions import do_set_document_text
from duban.documents.models import Document
from duban.documents.texts import document_text
from duban.matters import actions
from duban.matters import documents as matter_documents
from duban.reports import documents as report_documents
from duban.supervision import documents as supervision_documents
from duban.supervision import ledger
from duban.supervision.actions import (
    do_draft_circular,
    do_publish_circular,
    do_record_manual_step,
    do_reverse_entry,
    do_set_circular_lists,
)
from duban.supervision.models import EscalationStep
from duban.units.models import Unit

# Steps are recorded on 20–24 November 2026 and the week's report is issued on Friday 27 November:
# the tests run as of that Friday (督查专报〔2026〕第1期).
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-27")]

EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复，说明滞后原因和整改措施", "reply_due": "2026-11-27"},
    "onsite": {"inspector": "张督查", "visited_at": "2026-11-23T09:30", "findings": "现场进度滞后"},
}
SERIF = "仿宋_GB2312"  # the body face GB/T 9704 names, as county machines have it
WORD_FACES = {"仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"}


@pytest.fixture
def cast(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        yield make_cast()


# --- helpers -------------------------------------------------------------------------------------
def pdf_text(data: bytes, tmp_path, name="doc.pdf", *, layout: bool = False) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(path), "-"], capture_output=True,
                         check=True).stdout
    return out.decode("utf-8")


def flat(text: str) -> str:
    """pdftotext breaks table cells over lines and pads columns: compare without whitespace."""
    return re.sub(r"\s+", "", text)


def pdf_fonts(data: bytes, tmp_path, name="fonts.pdf") -> list[dict]:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type… encoding emb sub uni object ID: emb/sub/uni are the 3 yes/no before the last two
        rows.append({"name": parts[0], "emb": parts[-5], "line": line})
    return rows


def assert_cjk_embedded(data: bytes, tmp_path):
    fonts = pdf_fonts(data, tmp_path)
    assert fonts, "no fonts in the PDF"
    assert all(f["emb"] == "yes" for f in fonts), [f["line"] for f in fonts]
    names = {re.sub(r"^[A-Z]{6}\+", "", f["name"]) for f in fonts}
    # The faces named by file (duban.documents.fonts): the Simplified Chinese Noto Serif/Sans CJK.
    assert "Duban-Serif" in names and any(n.startswith("Duban-Sans") for n in names), names


def docx_of(data: bytes):
    from docx import Document as Docx

    return Docx(io.BytesIO(data))


def docx_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def east_asian(element) -> str | None:
    from docx.oxml.ns import qn

    fonts = element.find(f".//{qn('w:rFonts')}")
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def overdue_matter(cast):
    with as_of(date(2026, 9, 1)):
        return to_state(cast, "in_progress", deadline_working_days=10)


def written_notice_step(cast, matter=None):
    matter = matter or overdue_matter(cast)
    for tier in ("phone", "written_notice"):
        do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                    on=date(2026, 11, 20))
    return EscalationStep.objects.get(matter=matter, tier="written_notice")


def published_circular(cast):
    today = clock.today()
    to_state(cast, "in_progress")
    circular_record(cast)  # what praising T01 and criticising D01 rest on
    circular = do_draft_circular(actor=cast.staff, title="关于督办事项落实情况的通报",
                                           period_start=today - timedelta(days=30), period_end=today)
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=["D01"],
                                    body="对按期办结的单位予以表扬，对落实不力的单位予以通报批评。")
    return do_publish_circular(circular.pk, actor=cast.office)


# --- each kind ----------------------------------------------------------------------------------------
def test_assignment_notice_pdf_and_word(cast, tmp_path):
    matter = to_state(cast, "in_progress", feedback_every_working_days=5, deadline_working_days=10)
    document = matter_documents.assignment_notice_document(matter, actor=cast.staff)
    notice = matter.notices.get(kind="assignment_notice")
    assert document.number == notice.number and re.fullmatch(r"甲政督交〔\d{4}〕\d+号", document.number)
    assert (document.kind, document.matter, document.unit.code, document.notice) == (
        "assignment_notice", matter, "D01", notice)
    pdf = service.pdf_bytes(document)
    import hashlib

    assert hashlib.sha256(pdf).hexdigest() == document.sha256
    text = flat(pdf_text(pdf, tmp_path))
    for expected in ("甲县人民政府办公室", document.number, "重点事项交办通知单", "一号局、一号镇：", matter.title,
                     "按期办结，书面报告", "每5个工作日反馈一次进展", "请于规定时限内办结并报送落实结果。", "王县长",
                     document.display_code, f"alpha.localhost:8000/verify/{document.code}/", "—2—"):
        assert flat(expected) in text, expected
    assert flat("—1—") not in text  # 信函格式 (the default pack's notices): no page number on page one
    assert_cjk_embedded(pdf, tmp_path)

    word = docx_of(service.docx_bytes(document))
    paragraphs = [p.text for p in word.paragraphs]
    assert paragraphs[0] == "甲县人民政府办公室" and paragraphs[1] == document.number
    assert "重点事项交办通知单" in paragraphs and "一号局、一号镇：" in paragraphs
    assert matter.title in docx_text(word) and "请于规定时限内办结并报送落实结果。" in paragraphs
    assert east_asian(word.styles["Normal"].element) == SERIF
    runs = [run for p in word.paragraphs for run in p.runs if run.text.strip()]
    assert runs and all(east_asian(run._element) in WORD_FACES
                        for run in runs)
    footer = "\n".join(p.text for p in word.sections[0].footer.paragraphs)
    assert document.display_code in footer and word.sections[0].page_width.mm == pytest.approx(210, abs=0.5)
    assert word.sections[0].top_margin.mm == pytest.approx(37, abs=0.5)


def test_supervision_notice_pdf_and_word(cast, tmp_path):
    step = written_notice_step(cast)
    document = supervision_documents.supervision_notice_document(step, actor=cast.staff)
    assert document.number == step.notice.number and document.number.startswith("甲政督〔2026〕")
    text = flat(pdf_text(service.pdf_bytes(document), tmp_path))
    for expected in ("督查督办通知单", document.number, "一号局：", step.matter.title, "现予书面督办",
                     "2026年11月20日电话、口头督办", "三日内专题答复，说明滞后原因和整改措施",
                     "请尽快赶上工作进度，并在规定时限内进行专题答复。", "2026年11月20日"):
        assert flat(expected) in text, expected
    assert_cjk_embedded(service.pdf_bytes(document), tmp_path)
    word = docx_text(docx_of(service.docx_bytes(document)))
    assert "督查督办通知单" in word and document.number in word and "三日内专题答复" in word


def test_circular_pdf_and_word(cast, tmp_path):
    circular = published_circular(cast)
    document = supervision_documents.circular_document(circular, actor=cast.staff)
    assert document.number == circular.notice.number and document.title == "关于督办事项落实情况的通报"
    text = flat(pdf_text(service.pdf_bytes(document), tmp_path))
    for expected in ("甲县人民政府办公室", circular.notice.number, "关于督办事项落实情况的通报", "各乡镇人民政府，县直各部门：",
                     "一号镇本期承办督办事项1件，按期办结1件，予以通报表扬。", "一号局本期", "逾期未办结",
                     "落实不力，予以全县通报批评", "四、各单位落实情况", "名次", "已到期", "按期办结率＝按期办结÷已到期"):
        assert flat(expected) in text, expected
    word = docx_of(service.docx_bytes(document))
    assert "二、表扬单位" in [p.text for p in word.paragraphs]
    ranking = word.tables[0]
    assert [c.text for c in ranking.rows[0].cells][:2] == ["名次", "单位"]
    assert {row.cells[1].text for row in ranking.rows[1:]} >= {"一号局", "一号镇"}


def test_collection_form_numbered_once_with_the_rounds_matters(cast, tmp_path):
    round_ = actions.do_open_round(actor=cast.staff, title="2026年第四季度督办事项征集",
                                   due_date=clock.today() + timedelta(days=7), leaders=[cast.leader])
    proposed(cast, title="推进城区停车场建设", round_id=round_.pk)
    document = matter_documents.collection_form_document(round_, actor=cast.staff)
    assert re.fullmatch(r"甲政督征〔\d{4}〕1号", document.number) and document.round == round_
    assert matter_documents.collection_form_document(round_, actor=cast.staff) == document  # printed again: the same
    text = flat(pdf_text(service.pdf_bytes(document), tmp_path))
    for expected in ("需要督办事项", document.number, "王县长：", "2026年第四季度督办事项征集", "推进城区停车场建设",
                     "事项内容及要求", "建议责任单位"):
        assert flat(expected) in text, expected
    word = docx_of(service.docx_bytes(document))
    form = word.tables[-1]
    assert [c.text for c in form.rows[0].cells] == ["序号", "事项名称", "事项内容及要求", "建议责任单位", "要求完成时间",
                                                     "提出领导"]
    assert form.rows[1].cells[1].text == "推进城区停车场建设" and len(form.rows) >= 9  # rows to write in
    with pytest.raises(NotAllowed):
        matter_documents.collection_form_document(round_, actor=cast.lead_clerk)


def test_annual_table_xlsx_and_pdf_match_the_ledger(cast, tmp_path):
    from openpyxl import load_workbook

    matter = overdue_matter(cast)
    for tier in ("phone", "phone", "written_notice", "onsite"):
        do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                    on=date(2026, 11, 20))
    wrong = do_record_manual_step(matter.pk, actor=cast.staff, tier="onsite", evidence=EVIDENCE["onsite"],
                                        on=date(2026, 11, 21))
    do_reverse_entry(wrong.ledger.get().pk, actor=cast.office, reason="重复记录")
    scores = ledger.unit_scores(2026)
    document = report_documents.annual_assessment_document(2026, actor=cast.leader)
    assert document.kind == "annual_assessment" and document.title == "2026年督查督办工作年度考评表"
    assert report_documents.annual_assessment_document(2026, actor=cast.staff) == document  # figures unchanged: same one

    book = load_workbook(io.BytesIO(service.xlsx_bytes(document)))
    sheet = book.active
    assert sheet["A1"].value == "2026年督查督办工作年度考评表"
    header = [cell.value for cell in sheet[3]]
    assert header[:5] == ["序号", "名次", "单位", "类型", "基础分"] and header[-2:] == ["扣分合计", "最终得分"]
    labels = header[5:-2]
    assert labels[:3] == ["电话或口头催办", "下发《督查督办通知单》", "现场催办"] and "全县通报批评" in labels
    rows = {row[2]: row for row in sheet.iter_rows(min_row=4, max_row=3 + len(scores), values_only=True)}
    assert set(rows) == {unit.name for unit in scores}
    for unit, value in scores.items():
        assert Decimal(str(rows[unit.name][-1])) == value
    d01 = dict(zip(header, rows["一号局"], strict=True))
    assert (Decimal(str(d01["电话或口头催办"])), Decimal(str(d01["下发《督查督办通知单》"])),
            Decimal(str(d01["现场催办"]))) == (Decimal("0.2"), Decimal("0.2"), Decimal("0.3"))  # the reversal nets out
    assert Decimal(str(d01["扣分合计"])) == Decimal("0.7") and Decimal(str(d01["最终得分"])) == Decimal("2.3")
    assert Decimal(str(d01["基础分"])) == Decimal("3")
    assert document.display_code in " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)

    pdf = service.pdf_bytes(document)
    text = pdf_text(pdf, tmp_path, layout=True)
    assert "2026年督查督办工作年度考评表" in flat(text)
    d01_line = next(line for line in text.splitlines() if "一号局" in line)
    assert d01_line.split()[-2:] == ["0.7", "2.30"]
    assert_cjk_embedded(pdf, tmp_path)
    with pytest.raises(NotAllowed):
        report_documents.annual_assessment_document(2026, actor=cast.lead_clerk)
    # New figures: a new snapshot with the next number of the year.
    do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                                on=date(2026, 11, 24))
    again = report_documents.annual_assessment_document(2026, actor=cast.staff)
    assert again != document and again.seq == document.seq + 1


def test_register_book_lists_every_matter(cast):
    from openpyxl import load_workbook

    from duban.matters.documents import register_book_xlsx

    first = to_state(cast, "in_progress")
    second = proposed(cast, title="乡村道路养护")
    sheet = load_workbook(io.BytesIO(register_book_xlsx())).active
    assert sheet["A1"].value == "甲县督办事项登记簿"
    rows = {row[0]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows[first.number][1] == first.title and rows[first.number][6] == "一号局"
    assert rows[first.number][8] == first.notices.get(kind="assignment_notice").number
    assert rows[second.number][11] == "待登记"


# --- verification, the register, numbering --------------------------------------------------------------
def test_verification_page_shows_an_authentic_copy_and_404_otherwise(cast, world):
    document = matter_documents.assignment_notice_document(to_state(cast, "in_progress"), actor=cast.staff)
    client = Client()
    connection.set_schema_to_public()  # the middleware picks the county from the host
    response = client.get(f"/verify/{document.code}/", HTTP_HOST="alpha.localhost")
    assert response.status_code == 200
    page = response.content.decode()
    for expected in ("真实有效", document.number, "重点事项交办通知单", document.title, document.issuing_office,
                     document.sha256[:16], document.display_code):
        assert expected in page, expected
    assert response["X-Robots-Tag"].startswith("noindex")
    assert inline_elements_outside_the_policy(response) == []  # its <style> under the CSP's nonce
    assert client.get(f"/verify/{document.display_code.lower()}/", HTTP_HOST="alpha.localhost").status_code == 200
    for code in ("AAAAAAAAAAAAAAAA", "not-a-code", document.code[:-1]):
        missing = client.get(f"/verify/{code}/", HTTP_HOST="alpha.localhost")
        assert missing.status_code == 404 and document.number not in missing.content.decode()
    # Another county's host does not know it.
    assert client.get(f"/verify/{document.code}/", HTTP_HOST="beta.localhost").status_code == 404
    assert client.post(f"/verify/{document.code}/", HTTP_HOST="alpha.localhost").status_code == 405


def test_documents_are_append_only_and_printing_again_returns_the_same(cast):
    matter = to_state(cast, "in_progress")
    document = matter_documents.assignment_notice_document(matter, actor=cast.staff)
    assert matter_documents.assignment_notice_document(matter.pk, actor=cast.office) == document
    assert Document.objects.count() == 1
    assert AuditEvent.objects.filter(action="document.issue", object_id=str(document.pk)).count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for statement in (f"UPDATE documents_document SET sha256 = 'x' WHERE id = {document.id}",
                      f"DELETE FROM documents_document WHERE id = {document.id}"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)


def test_unit_staff_see_their_own_notices_only(cast):
    document = matter_documents.assignment_notice_document(to_state(cast, "in_progress"), actor=cast.staff)
    assert access_document_by_id(cast.lead_clerk, document.pk) == document  # lead unit
    assert access_document_by_id(cast.co_clerk, document.pk) == document  # co-operating unit
    from duban.core.errors import NotFound

    with pytest.raises(NotFound):
        access_document_by_id(cast.other_clerk, document.pk)
    with pytest.raises(NotFound):  # a matter not assigned to them cannot be printed by them either
        matter_documents.assignment_notice_document(document.matter, actor=cast.other_clerk)


def test_numbers_run_per_county_per_year(cast, world):
    first = written_notice_step(cast)
    second = written_notice_step(cast, overdue_matter(cast))
    with as_of(date(2027, 1, 6)):
        later = proposed(cast, requested_deadline=None)
        actions.do_register_matter(later.pk, actor=cast.staff)
        actions.do_approve_matter(later.pk, actor=cast.leader)
        actions.do_assign_matter(later.pk, actor=cast.staff, lead_unit="D01", requirements="按期办结",
                                 deadline_working_days=10)
        actions.do_sign_for_receipt(later.pk, actor=cast.lead_clerk)
    with as_of(date(2027, 2, 22)):  # the steps are recorded on their own day, never ahead of it
        do_record_manual_step(later.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                                    on=date(2027, 2, 22))
        do_record_manual_step(later.pk, actor=cast.staff, tier="written_notice",
                                    evidence=EVIDENCE["written_notice"], on=date(2027, 2, 22))
    third = EscalationStep.objects.get(matter=later, tier="written_notice")
    numbers = [supervision_documents.supervision_notice_document(s, actor=cast.staff).number for s in (first, second, third)]
    assert numbers == ["甲政督〔2026〕1号", "甲政督〔2026〕2号", "甲政督〔2027〕1号"]
    with tenant_context(world.beta):
        beta = make_cast()
        step = written_notice_step(beta)
        assert supervision_documents.supervision_notice_document(step, actor=beta.staff).number == "乙政督〔2026〕1号"


# --- the county's texts and the plugins' context ------------------------------------------------------------
def test_a_county_override_changes_the_title_and_office(cast, world, tmp_path):
    with pytest.raises(NotAllowed):
        do_set_document_text("supervision_notice", actor=cast.staff, title="督办通知")
    with pytest.raises(Invalid) as excinfo:
        do_set_document_text("no_such_document", actor=cast.office, title="x")
    assert excinfo.value.field == "kind"
    with pytest.raises(Invalid) as excinfo:
        do_set_document_text("supervision_notice", actor=cast.office, issuing_office=" ")
    assert excinfo.value.field == "issuing_office"
    do_set_document_text("supervision_notice", actor=cast.office, title="督查督办催办通知单",
                         issuing_office="{county}人民政府督查室", copy_to=["县委督查室"],
                         closing="请于接到本通知单之日起五个工作日内书面答复。")
    event = AuditEvent.objects.get(action="document_text.set")
    assert event.after["title"] == "督查督办催办通知单" and event.before is None
    text = document_text("supervision_notice")
    assert (text.title, text.issuing_office, text.number_prefix) == ("督查督办催办通知单", "甲县人民政府督查室", "政督")
    document = supervision_documents.supervision_notice_document(written_notice_step(cast), actor=cast.staff)
    assert (document.title, document.issuing_office) == ("督查督办催办通知单", "甲县人民政府督查室")
    pdf = flat(pdf_text(service.pdf_bytes(document), tmp_path))
    for expected in ("甲县人民政府督查室", "督查督办催办通知单", "抄送：县委督查室。",
                     "请于接到本通知单之日起五个工作日内书面答复。"):
        assert flat(expected) in pdf, expected
    assert "请尽快赶上工作进度" not in pdf
    # Reset the title: the pack's again; the other county never changed.
    do_set_document_text("supervision_notice", actor=cast.office, reset=["title"])
    assert document_text("supervision_notice").title == "督查督办通知单"
    with tenant_context(world.beta):
        assert document_text("supervision_notice").issuing_office == "乙县人民政府办公室"


class ContactLine:
    """A throwaway plugin adding a contact line to supervision notices."""

    from plugins.hookspecs import hookimpl

    @hookimpl
    def duban_document_context(self, pack, document, context):
        if document != "supervision_notice":
            return None
        return {"contact_line": f"联系人：{context.get('county_name')}督查室，电话 0000-1234567",
                "recipient": context["recipient"] + "主要负责人"}


def test_plugins_add_context_through_the_hook(cast, tmp_path):
    from plugins.manager import active_plugin_manager

    step = written_notice_step(cast)
    pm = active_plugin_manager()
    plugin = ContactLine()
    pm.register(plugin, name="test_contact_line")
    try:
        document = supervision_documents.supervision_notice_document(step, actor=cast.staff)
    finally:
        pm.unregister(plugin)
    assert document.content["extras"] == ["联系人：甲县督查室，电话 0000-1234567"]
    assert document.content["recipient"] == "一号局主要负责人"
    text = flat(pdf_text(service.pdf_bytes(document), tmp_path))
    assert "联系人：甲县督查室，电话0000-1234567" in text and "一号局主要负责人：" in text
    assert "联系人：甲县督查室，电话 0000-1234567" in docx_text(docx_of(service.docx_bytes(document)))


# --- the CLI ------------------------------------------------------------------------------------------
def test_documents_sample_writes_one_file_of_each_kind(cast, world, tmp_path, capsys):
    from duban.reports.actions import do_issue_weekly_report, do_submit_weekly_report
    from duban.reports.weekly import draft_weekly_report

    written_notice_step(cast)
    published_circular(cast)
    report = draft_weekly_report(date(2026, 11, 27)).report
    with as_of(date(2026, 11, 30)):
        do_submit_weekly_report(report.pk, actor=cast.staff)
        do_issue_weekly_report(report.pk, actor=cast.office)
    out = tmp_path / "sample"
    call_command("documents", "sample", "--county", "alpha", "--out", str(out), "--year", "2026")
    printed = capsys.readouterr().out
    expected = {f"{kind}.pdf" for kind in ("collection_form", "assignment_notice", "supervision_notice",
                                           "weekly_report", "circular", "annual_assessment")}
    expected |= {f"{kind}.docx" for kind in ("collection_form", "assignment_notice", "supervision_notice",
                                             "weekly_report", "circular")}
    expected |= {"annual_assessment.xlsx", "register_book.xlsx"}
    assert {p.name for p in out.iterdir()} == expected
    for name in expected:
        assert str(out / name) in printed
    assert "blank form" in printed  # no collection round in this county
    weekly = flat(pdf_text((out / "weekly_report.pdf").read_bytes(), tmp_path))
    for text in ("督查专报", "第1期", "甲县人民政府督查室", "本周督查督办工作情况", "一、总体情况"):
        assert text in weekly, text
    for name in ("supervision_notice.pdf", "weekly_report.pdf", "collection_form.pdf"):
        assert_cjk_embedded((out / name).read_bytes(), tmp_path)
    assert "需要督办事项" in flat(pdf_text((out / "collection_form.pdf").read_bytes(), tmp_path))


def test_documents_sample_explains_what_is_missing(world, settings, tmp_path, capsys):
    settings.MEDIA_ROOT = tmp_path / "media"
    with pytest.raises(CommandError, match="没有代码为“nowhere”的县（现有：alpha, beta）"):
        call_command("documents", "sample", "--county", "nowhere", "--out", str(tmp_path))
    with pytest.raises(CommandError) as excinfo:
        call_command("documents", "sample", "--county", "beta", "--out", str(tmp_path / "beta"))
    assert "有4种公文没有数据：assignment_notice、supervision_notice、weekly_report、circular" in str(excinfo.value)
    err = capsys.readouterr().err
    assert "no matter has been assigned yet" in err and "duban report weekly draft --county beta" in err
    # What there is data for is written all the same: the blank form, the annual table, the register.
    assert {p.name for p in (tmp_path / "beta").iterdir()} >= {"collection_form.pdf", "annual_assessment.pdf",
                                                               "annual_assessment.xlsx", "register_book.xlsx"}
    connection.set_schema_to_public()
    with tenant_context(world.beta):
        assert Unit.objects.exists()
