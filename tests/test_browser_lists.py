"""Issue 20 points 8–10 in a real browser (Playwright driving Debian's Chromium), at desktop width
1366 and phone width 390: the Excel import's row-by-row preview and 全部导入, urging several
overdue matters by phone in one go, assigning a batch from the plan, marking notifications read
together, searching by a unit's name, printing a list, and a feedback reported with its file.

Infrastructure as tests/test_browser.py (whose ``chromium`` and ``browsers`` fixtures, with their
Content-Security-Policy watch, are used here): a live server in this process and a committed
county of its own, ``lists``, built for the module and dropped after it. Screenshots go to
``test-artifacts/screenshots/``: import-preview-<width>.png, import-preview-ok-<width>.png,
bulk-urge-form-<width>.png, bulk-urge-<width>.png, bulk-assign-<width>.png,
notifications-bulk-read-<width>.png, search-unit-<width>.png, register-print-<width>.png and
feedback-files-<width>.png.
"""
# ruff: noqa: F811 — the browser fixtures of test_browser are imported by name

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from browser_helpers import SCREENSHOTS, LiveServer, Site, build_county, drop_county, screenshot, walk_matter
from playwright.sync_api import expect
from test_browser import browsers, chromium  # noqa: F401 (fixtures)
from test_web_lists import MATTER_HEADER, workbook

from duban.core import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WIDTHS = [1366, 390]
PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """County ``lists``, committed, served live."""
    for stale in SCREENSHOTS.glob("failed-*.png"):
        stale.unlink()
    with django_db_blocker.unblock():  # the server's threads query the database during the tests
        schema = build_county("lists")
        server = LiveServer().start()
        try:
            yield Site("lists", schema, server)
        finally:
            server.stop()
            drop_county("lists")


def page_at(browsers, username: str, width: int, then: str | None = None):
    page = browsers.as_user(username, phone=width == 390)
    if width != 390:
        page.set_viewport_size({"width": width, "height": 900})
    if then:
        page.goto(browsers.site.url(then))
    return page


def fits(page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- point 9: the Excel import ----------------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_staff_import_matters_see_the_row_by_row_preview_then_import_all(site, browsers, width):
    future = (clock.today() + timedelta(days=90)).isoformat()
    titles = [f"建设智慧停车系统{width}", f"改造城区供水管网{width}", f"新建社区养老服务中心{width}"]
    bad = workbook([MATTER_HEADER,
                    [titles[0], "年底前在城区建成智慧停车系统", "政府工作报告、年度季度工作要点、重大项目", "县发展和改革局",
                     future, "政府工作报告", "否"],
                    [titles[1], "完成老城区供水管网改造", "城建类", "县水务局", "明年六月", "", ""],
                    [titles[2], "", "work_report", "城关镇", future, "", "也许"]])
    staff = page_at(browsers, "staff", width, "/matters/")
    staff.locator("#import-link").click()
    expect(staff.locator("h1")).to_have_text("Excel 导入")
    staff.locator("#id_proposed_by").select_option(index=1)
    staff.locator("#id_file").set_input_files({"name": "重点事项.xlsx", "mimeType": XLSX, "buffer": bad})
    staff.locator("#import-check").click()
    expect(staff.locator("#import-bad")).to_contain_text("没有导入任何内容")
    expect(staff.locator("#import-summary")).to_have_text("共 3 行，其中 2 行有问题")
    expect(staff.locator("#import-row-2")).to_contain_text("可以导入")
    expect(staff.locator("#import-row-3")).to_contain_text("未知类别")
    expect(staff.locator("#import-row-3")).to_contain_text("未知单位")
    expect(staff.locator("#import-row-4")).to_contain_text("不能为空")
    expect(staff.locator("#import-all")).to_have_count(0)
    screenshot(staff, f"import-preview-{width}.png")

    good = workbook([MATTER_HEADER,
                     [titles[0], "年底前在城区建成智慧停车系统", "政府工作报告、年度季度工作要点、重大项目", "县发展和改革局",
                      future, "政府工作报告", "否"],
                     [titles[1], "完成老城区供水管网改造", "work_report", "县发展和改革局、城关镇", "", "", ""],
                     [titles[2], "建成并运营社区养老服务中心", "work_report", "城关镇", future, "", "是"]])
    staff.locator("#id_proposed_by").select_option(index=1)
    staff.locator("#id_file").set_input_files({"name": "重点事项（改正）.xlsx", "mimeType": XLSX, "buffer": good})
    staff.locator("#import-check").click()
    expect(staff.locator("#import-ok")).to_contain_text("检查无误：3 行都可以导入。")
    expect(staff.locator("#import-rows tbody tr")).to_have_count(3)
    fits(staff, width)  # the preview table scrolls sideways in its own box on a phone
    screenshot(staff, f"import-preview-ok-{width}.png")
    staff.locator("#import-all").click()
    expect(staff).to_have_url(re.compile(r"/register/$"))
    expect(staff.locator("ul.messages")).to_contain_text("已导入 3 个督办事项")
    for title in titles:
        expect(staff.locator("#register-book")).to_contain_text(title)


# --- point 8: bulk urging of overdue matters ------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_staff_urge_several_overdue_matters_by_phone_in_one_go(site, browsers, width):
    tag = f"批量督办{width}"
    long_ago = clock.today() - timedelta(days=70)
    late = [site.run(lambda t=t: walk_matter(f"{tag}：{t}", "in_progress", deadline_working_days=10, on=long_ago))
            for t in ("整治城区违规占道经营", "清理河道沿岸垃圾")]
    on_time = site.run(lambda: walk_matter(f"{tag}：修缮乡村公路", "in_progress", deadline_working_days=40))
    staff = page_at(browsers, "staff", width, f"/matters/?q={tag}")
    expect(staff.locator("#bulk-urge")).to_be_disabled()
    for matter_id in (*late, on_time):
        staff.locator(f"#pick-{matter_id}").check()
    expect(staff.locator("[data-bulk-count]")).to_have_text("已选 3 项")
    staff.locator("#bulk-urge").click()
    expect(staff.locator("h1")).to_have_text("批量电话督办")
    expect(staff.locator(f"#refusal-m{on_time}")).to_contain_text("未逾期")
    promised = (clock.today() + timedelta(days=10)).isoformat()
    for key, contact in zip((f"m{late[0]}", f"m{late[1]}"), ("刘局长", "陈主任"), strict=True):
        staff.locator(f"#id_{key}-ev_contact").fill(contact)
        staff.locator(f"#id_{key}-ev_promised_date").fill(promised)
        staff.locator(f"#id_{key}-ev_note").fill("已说明逾期原因，承诺加快进度。")
    fits(staff, width)
    screenshot(staff, f"bulk-urge-form-{width}.png")
    staff.locator("#bulk-urge-submit").click()
    expect(staff.locator("#bulk-outcome")).to_contain_text("成功 2 项，未办理 1 项")
    for matter_id in late:
        expect(staff.locator(f"#outcome-m{matter_id}")).to_contain_text("已记录电话、口头督办")
    expect(staff.locator(f"#outcome-m{on_time}")).to_contain_text("未逾期")
    fits(staff, width)
    screenshot(staff, f"bulk-urge-{width}.png")

    def recorded():
        from duban.supervision.models import EscalationStep

        return sorted(EscalationStep.objects.filter(matter_id__in=[*late, on_time], tier="phone", status="recorded")
                      .values_list("matter_id", flat=True))

    assert site.run(recorded) == sorted(late)


# --- point 8: assign a batch from the plan; the unit marks its notices read together ---------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_staff_assign_a_batch_from_the_plan_and_the_unit_marks_the_notices_read_together(site, browsers, width):
    tag = f"计划交办{width}"
    approved = [site.run(lambda t=t: walk_matter(f"{tag}：{t}", "approved")) for t in ("建设农贸市场", "改造公共厕所")]
    staff = page_at(browsers, "staff", width, "/plan/")
    for matter_id in approved:
        staff.locator(f"#pick-{matter_id}").check()
    staff.locator("#bulk-assign").click()
    expect(staff.locator("h1")).to_have_text("批量交办")
    expect(staff.locator(f"#id_m{approved[0]}-lead_unit")).to_have_value("D01")  # the proposed unit
    staff.locator("#id_all-requirements").fill("按县政府年度计划推进，每月底前反馈进展。")
    staff.locator("#id_all-feedback_every_working_days").fill("10")
    staff.locator("#bulk-assign-submit").click()
    expect(staff.locator("#bulk-outcome")).to_contain_text("成功 2 项，未办理 0 项")
    fits(staff, width)
    screenshot(staff, f"bulk-assign-{width}.png")

    clerk = page_at(browsers, "clerk", width, "/notifications/?unread=1")
    picks = clerk.locator("input.bk-pick")
    count = picks.count()
    assert count >= 2
    picks.nth(0).check()
    picks.nth(1).check()
    expect(clerk.locator("[data-bulk-count]")).to_have_text("已选 2 条")
    clerk.locator("#bulk-read-submit").click()
    expect(clerk.locator("ul.messages")).to_contain_text("已将2条通知标为已读。")
    expect(clerk.locator("input.bk-pick")).to_have_count(count - 2)
    fits(clerk, width)
    screenshot(clerk, f"notifications-bulk-read-{width}.png")


# --- point 8: search by unit name; print a list ----------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_search_by_unit_name_and_print_the_register_book(site, browsers, width):
    matter_id = site.run(lambda: walk_matter(f"按单位搜索{width}：整修城关镇老街", "in_progress"))
    staff = page_at(browsers, "staff", width, "/matters/")
    staff.locator("#id_q").fill("城关镇")  # T01's name; the matter's co-operating unit
    staff.locator("#filter-submit").click()
    expect(staff.locator(f"#matter-{matter_id}")).to_be_visible()
    screenshot(staff, f"search-unit-{width}.png")

    staff.goto(site.url("/register/"))
    staff.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    staff.locator("#print-button").click()
    assert staff.evaluate("window.__printed") == 1
    with staff.expect_download() as download:
        staff.locator("#export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    staff.emulate_media(media="print")
    expect(staff.locator(".topbar")).to_be_hidden()
    expect(staff.locator("#print-button")).to_be_hidden()
    expect(staff.locator("#register-book")).to_be_visible()
    screenshot(staff, f"register-print-{width}.png")
    staff.emulate_media(media="screen")


# --- point 10: files reported with a feedback ---------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_the_unit_gives_feedback_with_its_file_shown_with_it(site, browsers, width):
    matter_id = site.run(lambda: walk_matter(f"反馈附件{width}：推进城区污水管网建设", "in_progress"))
    clerk = page_at(browsers, "clerk", width, f"/matters/{matter_id}/")
    clerk.locator("#feedback-text").fill("管网主体已完工，附现场验收记录。")
    clerk.locator("#feedback-files").set_input_files([
        {"name": "现场验收记录.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
        {"name": "进度表.txt", "mimeType": "text/plain", "buffer": "已完成80%".encode()}])
    clerk.locator("#submit-feedback").click()
    expect(clerk.locator("ul.messages")).to_contain_text("进展情况已反馈")
    feedback = clerk.locator("#matter-feedback")
    expect(feedback).to_contain_text("现场验收记录.pdf")
    expect(feedback).to_contain_text("进度表.txt")
    expect(clerk.locator("#timeline")).to_contain_text("随进展反馈报送")
    fits(clerk, width)
    screenshot(clerk, f"feedback-files-{width}.png")
