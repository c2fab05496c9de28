"""The county's documents laid out as GB/T 9704-2012 says, measured from the PDFs themselves
(pdfplumber: where each character and rule is), and Word files naming the fonts county
machines have (issue 17 point 6)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, make_cast, to_state

from duban.core.clock import as_of
from duban.documents import service
from duban.documents.measure import STANDARD, measure
from duban.reports import documents as report_documents
from duban.supervision import documents as supervision_documents
from duban.supervision.actions import do_draft_circular, do_publish_circular, do_record_manual_step, do_set_circular_lists

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

EVIDENCE = {"phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
            "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-11-30"}}


@pytest.fixture
def cast(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        yield make_cast()


def notice_document(cast):
    with as_of(date(2026, 9, 1)):
        matter = to_state(cast, "in_progress", deadline_working_days=10)
    for tier in ("phone", "written_notice"):
        do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                    on=date(2026, 11, 20))
    step = matter.steps.get(tier="written_notice")
    return supervision_documents.supervision_notice_document(step, actor=cast.staff)


def circular_document(cast):
    circular_record(cast)
    draft = do_draft_circular(actor=cast.staff, title="关于督办事项落实情况的通报",
                                        period_start=date(2026, 10, 1), period_end=date(2026, 11, 25))
    do_set_circular_lists(draft.pk, actor=cast.staff, praised=["T01"], criticised=["D01"])
    published = do_publish_circular(draft.pk, actor=cast.office)
    return supervision_documents.circular_document(published, actor=cast.staff)


def within(value, bounds) -> bool:
    low, high = bounds
    return value is not None and low <= value <= high


def test_6_body_text_sets_28_characters_a_line_and_22_lines_a_page(cast):  # 文件格式 and 信函格式 alike
    for document in (notice_document(cast), circular_document(cast)):
        m = measure(service.pdf_bytes(document))
        assert m.chars_per_line == STANDARD["chars_per_line"], m
        assert m.lines_per_page == STANDARD["lines_per_page"], m
        assert within(m.left_margin_mm, STANDARD["left_margin_mm"]), m


def test_6_the_red_rule_is_4mm_below_the_number_and_the_title_two_lines_below_it(cast):
    m = measure(service.pdf_bytes(circular_document(cast)))  # 文件格式 (the default pack's circulars)
    assert m.layout == "file"
    assert within(m.red_rule_gap_mm, STANDARD["red_rule_gap_mm"]), m
    assert within(m.title_gap_lines, STANDARD["title_gap_lines"]), m


def test_6_a_notice_in_letter_format_has_its_mark_30mm_from_the_edge_and_red_double_lines(cast):
    """信函格式 (§10.1), which the default pack gives its notices: the mark 30 mm from the top edge,
    a double line 4 mm below it and one 20 mm from the bottom edge, no page number on page one,
    the title two lines below the number."""
    m = measure(service.pdf_bytes(notice_document(cast)))
    assert m.layout == "letter", m
    for key in ("office_from_edge_mm", "letter_rule_gap_mm", "letter_foot_mm", "title_gap_lines"):
        assert within(getattr(m, key), STANDARD[key]), (key, m)
    assert not m.page_number_on_page_one


def test_6_the_record_closes_the_last_page_at_its_foot(cast):
    """版记 (抄送, 印发机关和印发日期) on the last lines of the last page (GB/T 9704 §7.4)."""
    m = measure(service.pdf_bytes(circular_document(cast)))
    assert within(m.record_bottom_mm, STANDARD["record_bottom_mm"]), m


def test_6_a_circular_in_file_format_puts_the_office_mark_35mm_into_the_text_block(cast):
    m = measure(service.pdf_bytes(circular_document(cast)))
    assert within(m.office_top_mm, STANDARD["office_top_mm"]), m


def test_6_a_bulletin_prints_its_issue_without_the_year_and_gives_the_year_with_the_date(cast):
    from duban.reports.actions import do_issue_weekly_report, do_submit_weekly_report
    from duban.reports.weekly import draft_weekly_report

    report = draft_weekly_report(date(2026, 11, 21), actor=cast.staff).report
    with as_of(date(2026, 11, 23)):
        do_submit_weekly_report(report.pk, actor=cast.staff)
        issued = do_issue_weekly_report(report.pk, actor=cast.office)
    content = report_documents.weekly_report_content(issued, leaders=[])
    assert content["issue_line"] == f"第{issued.seq}期"
    assert "〔" not in content["issue_line"]


def test_6_word_files_name_the_fonts_county_machines_have(cast):
    from docx import Document as Docx
    from docx.oxml.ns import qn

    word = Docx(io.BytesIO(service.docx_bytes(circular_document(cast))))
    faces = set()
    for element in word.element.body.iter(qn("w:rFonts")):
        faces.add(element.get(qn("w:eastAsia")))
    normal = word.styles["Normal"].element.find(f".//{qn('w:rFonts')}").get(qn("w:eastAsia"))
    assert normal == "仿宋_GB2312"
    assert {"方正小标宋简体", "黑体"} <= faces, faces
    assert not any(face and face.startswith("Noto") for face in faces), faces


def test_6_the_document_code_is_the_countys_setting_not_its_first_character(world, cast):
    """发文机关代字: two counties of a city may share a first character (东山县, 东河县); each sets its own."""
    from django.db import connection

    from tenants import provisioning

    with pytest.raises(provisioning.ProvisioningError) as bad:
        provisioning.set_abbreviation("alpha", "abc", actor="tests")
    assert bad.value.field == "abbreviation" and "汉字" in str(bad.value)
    provisioning.set_abbreviation("alpha", "甲东", actor="tests")
    try:
        world.alpha.refresh_from_db()  # the tenant the session's tests share: put back below
        connection.set_tenant(world.alpha)  # set_abbreviation works on the public schema
        matter = to_state(cast, "assigned")
        assert matter.notices.get().number.startswith("甲东政督交〔")
    finally:
        provisioning.set_abbreviation("alpha", "甲", actor="tests")
        world.alpha.refresh_from_db()
        connection.set_tenant(world.alpha)
    assert world.alpha.abbreviation == "甲"


def test_6_word_page_numbers_alternate_sides_and_a_letter_has_none_on_page_one(cast):
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    circular = Docx(io.BytesIO(service.docx_bytes(circular_document(cast))))
    section = circular.sections[0]
    assert circular.settings.odd_and_even_pages_header_footer
    assert section.footer.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT  # odd pages
    assert section.even_page_footer.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert not section.different_first_page_header_footer
    letter = Docx(io.BytesIO(service.docx_bytes(notice_document(cast)))).sections[0]
    assert letter.different_first_page_header_footer
    assert "PAGE" not in letter.first_page_footer._element.xml and "核验码" in letter.first_page_footer.paragraphs[-1].text
