"""Golden files: each kind of document rendered from fixed data, its text compared with the text
committed in ``tests/golden/<kind>.txt`` and its first page measured against GB/T 9704.

A change to what a document says shows here as a diff of its words. When the change is meant,
write the new texts with ``DUBAN_UPDATE_GOLDEN=1 make test PYTEST_ARGS=tests/test_golden_documents.py``
and commit them with the change that explains it.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, make_cast, proposed, to_state

from duban.core.clock import as_of
from duban.documents.content import Verification
from duban.documents.measure import STANDARD, measure
from duban.documents.pdf import render_pdf
from duban.documents.service import with_plugin_context
from duban.matters import actions
from duban.matters import documents as matter_documents
from duban.reports import documents as report_documents
from duban.reports.actions import do_edit_weekly_report
from duban.reports.annual import annual_assessment
from duban.reports.weekly import county_zone, draft_weekly_report
from duban.supervision import documents as supervision_documents
from duban.supervision.actions import do_draft_circular, do_publish_circular, do_record_manual_step, do_set_circular_lists

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]

GOLDEN = Path(__file__).parent / "golden"
CODE = "GOLDENGOLDENGOLD"
VERIFY = Verification(CODE, f"http://alpha.localhost:8000/verify/{CODE}/")
EVIDENCE = {"phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
            "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-11-30"}}
KINDS = ("collection_form", "assignment_notice", "supervision_notice", "circular", "weekly_report",
         "annual_assessment")


@pytest.fixture
def contents(world, settings, tmp_path):
    """The content of one document of each kind, from data made the same way every time."""
    settings.MEDIA_ROOT = tmp_path / "media"
    with tenant_context(world.alpha):
        cast = make_cast()
        round_ = actions.do_open_round(actor=cast.staff, title="2026年第四季度督办事项征集", due_date=date(2026, 12, 10),
                                       leaders=[cast.leader])
        proposed(cast, title="推进城区停车场建设", round_id=round_.pk, requested_deadline=date(2026, 12, 31))
        with as_of(date(2026, 9, 1)):
            matter = to_state(cast, "in_progress", deadline_working_days=10)
        for tier in ("phone", "written_notice"):
            do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                        on=date(2026, 11, 20))
        circular_record(cast, on=date(2026, 11, 9))
        draft = do_draft_circular(actor=cast.staff, title="关于十一月督办事项落实情况的通报",
                                            period_start=date(2026, 11, 1), period_end=date(2026, 11, 25))
        do_set_circular_lists(draft.pk, actor=cast.staff, praised=["T01"], criticised=["D01"])
        published = do_publish_circular(draft.pk, actor=cast.office)
        report = draft_weekly_report(datetime.combine(date(2026, 11, 20), time(17), tzinfo=county_zone()),
                                     actor=cast.staff).report
        do_edit_weekly_report(report.pk, actor=cast.staff, summary="本周督办工作总体平稳，超期事项已逐件督办。")
        report.refresh_from_db()
        notices = {n.kind: n for n in matter.notices.all()}
        made = {
            "collection_form": matter_documents.collection_form_content(round_, number="甲政督征〔2026〕1号"),
            "assignment_notice": matter_documents.assignment_notice_content(notices["assignment_notice"]),
            "supervision_notice": supervision_documents.supervision_notice_content(notices["supervision_notice"]),
            "circular": supervision_documents.circular_content(published),
            "weekly_report": report_documents.weekly_report_content(report, leaders=["王县长"]),
            "annual_assessment": report_documents.annual_assessment_content(annual_assessment(2026)),
        }
        yield {kind: with_plugin_context(kind, content) for kind, content in made.items()}


def words(pdf: bytes) -> str:
    """The document's text, page by page, one line of the PDF a line, spaces dropped (CJK)."""
    import io

    import pdfplumber

    pages = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for number, page in enumerate(doc.pages, 1):
            lines = [re.sub(r"\s+", "", line) for line in (page.extract_text() or "").splitlines()]
            pages.append(f"--- page {number}\n" + "\n".join(line for line in lines if line))
    return "\n".join(pages) + "\n"


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_says_what_its_golden_file_says_and_keeps_its_layout(contents, kind):
    pdf = render_pdf(contents[kind], VERIFY)
    text = words(pdf)
    golden = GOLDEN / f"{kind}.txt"
    if os.environ.get("DUBAN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: write it with DUBAN_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), f"{kind}: the text differs from {golden.name}"
    m = measure(pdf)
    assert m.chars_per_line == STANDARD["chars_per_line"] and m.lines_per_page == STANDARD["lines_per_page"], m
    assert STANDARD["left_margin_mm"][0] <= m.left_margin_mm <= STANDARD["left_margin_mm"][1], m
    heads = {"file": ("office_top_mm", "red_rule_gap_mm", "title_gap_lines"),
             "letter": ("office_from_edge_mm", "letter_rule_gap_mm", "letter_foot_mm", "title_gap_lines")}
    if m.layout in heads:
        for key in heads[m.layout]:
            value = getattr(m, key)
            if value is not None:  # a form without 发文字号 has no rule gap to measure
                low, high = STANDARD[key]
                assert low <= value <= high, (key, m)
