"""Supervision work in a real browser (issue 20, points 4–7): Playwright driving Debian's Chromium
on a county's own host, at a desktop width (1366) and a phone's (390), every page under the
Content-Security-Policy watch of tests/test_browser.py.

4. 督办措施 and 扣分台账 in the menu; a step started by staff on their own initiative, withdrawn
   by the office leader and skipped, each with its reason;
5. the assign form pre-filled from the leader's proposal; closing a matter whose co-unit never
   signed asks for a confirmation, and the timeline names the unit;
6. the weekly report drafted and previewed on any day;
7. the timeline's content (feedback and result texts, reasons) and effective dates.

The county (``supervise``) is built once for the module and dropped after it; each journey builds
its own matter through the real actions. Screenshots go to ``test-artifacts/screenshots/``:
steps-menu, step-start, step-withdraw, step-skip, assign-prefill, close-confirm, timeline and
weekly-draft, each ``-1366.png`` and ``-390.png``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from browser_helpers import (
    LiveServer,
    Site,
    build_county,
    drop_county,
    people,
    screenshot,
    walk_matter,
)
from playwright.sync_api import expect
from test_browser import Browsers, chromium  # noqa: F401 -- the module's Chromium fixture

from duban.core import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
WIDTHS = [1366, 390]


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """County ``supervise``, committed and served live (the journeys' data is committed by
    Site.run on threads of its own)."""
    with django_db_blocker.unblock():
        schema = build_county("supervise")
        server = LiveServer().start()
        try:
            yield Site("supervise", schema, server)
        finally:
            server.stop()
            drop_county("supervise")


@pytest.fixture
def browsers(request, chromium, site):  # noqa: F811 -- the imported fixture, asked for by name
    browsers = Browsers(request, chromium, site)
    yield browsers
    problems = browsers.close()
    if problems:
        pytest.fail("Content-Security-Policy broken on the pages this test opened:\n" + "\n".join(problems))


def person(browsers, username: str, width: int, then: str | None = None):
    page = browsers.as_user(username, then=then, phone=width == 390)
    if width != 390:
        page.set_viewport_size({"width": width, "height": 900})
    return page


def fits(page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than a {width}px screen"


# --- built through the real actions ---------------------------------------------------------------
def overdue(title: str) -> int:
    """A matter assigned ten weeks ago with ten working days: past its deadline today."""
    return walk_matter(title, "in_progress", deadline_working_days=10, on=clock.today() - timedelta(days=70))


def recorded_phone_step(title: str) -> int:
    from duban.supervision.actions import do_record_manual_step

    matter_id = overdue(title)
    today = clock.today()
    step = do_record_manual_step(matter_id, actor=people()["staff"], tier="phone", on=today - timedelta(days=20),
                                 evidence={"contact": "刘局长", "contacted_at": f"{today - timedelta(days=20)}T10:00",
                                           "promised_date": str(today + timedelta(days=5))})
    return step.pk


def due_special_meeting(title: str) -> int:
    """A matter whose unit had the phone, written and on-site steps weeks ago: the sweep opens the
    special meeting (a tier the default pack lets staff skip)."""
    from duban.supervision import steps
    from duban.supervision.actions import do_record_manual_step
    from duban.supervision.models import EscalationStep

    matter_id = overdue(title)
    staff, today = people()["staff"], clock.today()
    evidence = {
        "phone": {"contact": "刘局长", "contacted_at": f"{today - timedelta(days=50)}T10:00",
                  "promised_date": str(today - timedelta(days=48))},
        "written_notice": {"requirements": "三日内专题答复", "reply_due": str(today - timedelta(days=40))},
        "onsite": {"inspector": "张督办", "visited_at": f"{today - timedelta(days=40)}T09:30", "findings": "进度滞后"},
    }
    for days, (tier, fields) in zip((50, 45, 40), evidence.items(), strict=True):
        do_record_manual_step(matter_id, actor=staff, tier=tier, unit="D01", evidence=fields,
                              on=today - timedelta(days=days))
    steps.sweep(actor="sweep")
    return EscalationStep.objects.get(matter_id=matter_id, unit__code="D01", tier="special_meeting",
                                      status=EscalationStep.Status.DUE).pk


def approved_with_proposal(title: str) -> dict:
    """A matter the leader proposed for D01 with T01 and a completion date, registered and approved."""
    from duban.matters import actions

    who, due = people(), clock.today() + timedelta(days=45)
    matter = actions.do_propose_matter(actor=who["leader"], title=title, content=f"{title}：按县政府部署推进。",
                                       category="work_report", proposed_units=["D01", "T01"], requested_deadline=due)
    actions.do_register_matter(matter.pk, actor=who["staff"])
    actions.do_approve_matter(matter.pk, actor=who["leader"], comment="同意立项")
    return {"matter_id": matter.pk, "due": due.isoformat()}


# --- 4. the menu; start, withdraw, skip ---------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_steps_and_ledger_are_in_the_menu_and_staff_start_a_step_with_a_reason(site, browsers, width):
    matter_id = site.run(lambda: overdue(f"整治农贸市场周边秩序（{width}）"))
    staff = person(browsers, "staff", width)
    menu = staff.locator("#site-nav")
    expect(menu.locator("a[data-nav-key='steps']")).to_have_text("督办措施")
    expect(menu.locator("a[data-nav-key='ledger']")).to_have_text("扣分台账")
    if width == 390:
        staff.locator("[data-nav-toggle]").click()
    menu.locator("a[data-nav-key='steps']").click()
    expect(staff).to_have_url(re.compile(r"/steps/$"))
    expect(staff.locator("h1")).to_contain_text("督办措施")
    fits(staff, width)
    screenshot(staff, f"steps-menu-{width}.png")

    staff.goto(site.url(f"/matters/{matter_id}/"))
    staff.locator("#start-step").click()
    choice = staff.get_by_role("form", name="选择督办方式")
    choice.get_by_label("责任单位").select_option("D01")
    choice.get_by_label("督办方式").select_option("onsite")
    choice.get_by_role("button", name="下一步").click()
    expect(staff.get_by_text("督办须逐级进行").first).to_be_visible()  # the on-site step cannot come first
    choice = staff.get_by_role("form", name="选择督办方式")
    choice.get_by_label("督办方式").select_option("phone")
    choice.get_by_role("button", name="下一步").click()
    form = staff.get_by_role("form", name="督办记录")
    form.get_by_role("button", name="记录督办", exact=True).click()
    expect(staff.get_by_text("请填写主动督办的理由。").first).to_be_visible()
    form = staff.get_by_role("form", name="督办记录")
    today = clock.today()
    form.get_by_label("主动督办理由").fill("县长现场调研时要求加快，主动电话督办")
    form.get_by_label("接听人").fill("县发改局 刘局长")
    form.get_by_label("通话时间").fill(f"{today.isoformat()}T09:30")
    form.get_by_label("承诺完成日期").fill((today + timedelta(days=10)).isoformat())
    form.get_by_label("督办日期").fill(today.isoformat())
    fits(staff, width)
    form.get_by_role("button", name="记录督办", exact=True).click()
    expect(staff).to_have_url(re.compile(r"/steps/\d+/$"))
    expect(staff.locator(".sv-facts").first).to_contain_text("县长现场调研时要求加快，主动电话督办")
    expect(staff.locator(".sv-facts").first).to_contain_text("人工发起")
    fits(staff, width)
    screenshot(staff, f"step-start-{width}.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_office_leader_withdraws_a_recorded_step_with_a_reason(site, browsers, width):
    step_id = site.run(lambda: recorded_phone_step(f"推进城区雨污分流改造（{width}）"))
    office = person(browsers, "office", width, then=f"/steps/{step_id}/")
    form = office.get_by_role("form", name="撤销督办措施")
    expect(office.get_by_text("系误记").first).to_be_visible()
    form.get_by_role("button", name="撤销").click()
    expect(office.get_by_text("请填写理由。").first).to_be_visible()
    form = office.get_by_role("form", name="撤销督办措施")
    form.get_by_label("理由").fill("电话系误拨至其他单位，未实际督办")
    form.get_by_role("button", name="撤销").click()
    expect(office).to_have_url(re.compile(rf"/steps/{step_id}/$"))
    expect(office.locator(".sv-badge.withdrawn")).to_have_text("已撤销")
    expect(office.locator(".sv-facts").first).to_contain_text("电话系误拨至其他单位，未实际督办")
    expect(office.get_by_role("form", name="撤销督办措施")).to_have_count(0)
    fits(office, width)
    screenshot(office, f"step-withdraw-{width}.png")

    def ledger():
        from duban.supervision.models import LedgerEntry

        return sum(e.amount for e in LedgerEntry.objects.filter(step_id=step_id))

    assert site.run(ledger) == 0  # the deduction is reversed


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_skip_a_skippable_step_with_a_reason(site, browsers, width):
    step_id = site.run(lambda: due_special_meeting(f"加快工业园区标准化厂房建设（{width}）"))
    staff = person(browsers, "staff", width, then=f"/steps/{step_id}/record/")
    form = staff.get_by_role("form", name="跳过此级督办")
    form.get_by_label("理由").fill("已现场督办，拟直接启动责任追究")
    form.get_by_role("button", name="跳过").click()
    expect(staff).to_have_url(re.compile(rf"/steps/{step_id}/$"))
    expect(staff.locator(".sv-badge.skipped")).to_have_text("已跳过")
    expect(staff.locator(".sv-facts").first).to_contain_text("已现场督办，拟直接启动责任追究")
    fits(staff, width)
    screenshot(staff, f"step-skip-{width}.png")


# --- 5 and 7. the assign form pre-filled; closing asks; the timeline says what happened --------------
@pytest.mark.parametrize("width", WIDTHS)
def test_the_assign_form_is_pre_filled_from_the_leaders_proposal(site, browsers, width):
    facts = site.run(lambda: approved_with_proposal(f"建设城东片区便民服务中心（{width}）"))
    staff = person(browsers, "staff", width, then=f"/matters/{facts['matter_id']}/")
    box = staff.locator("#action-assign")
    expect(box.get_by_label("牵头单位")).to_have_value("D01")
    expect(box.locator("input[name=co_units][value=T01]")).to_be_checked()
    expect(box.locator("input[name=co_units][value=D01]")).not_to_be_checked()
    expect(box.get_by_label("办结日期")).to_have_value(facts["due"])
    expect(box).to_contain_text("领导要求")
    box.scroll_into_view_if_needed()
    fits(staff, width)
    screenshot(staff, f"assign-prefill-{width}.png")
    box.get_by_label("办理要求").fill("按期建成投用，书面报告")
    box.get_by_role("button", name="交办").click()
    expect(staff.locator("#timeline")).to_contain_text("协办单位：城关镇")


@pytest.mark.parametrize("width", WIDTHS)
def test_closing_without_a_co_units_part_asks_and_the_timeline_says_so(site, browsers, width):
    matter_id = site.run(lambda: walk_matter(f"完善城乡公交站点设置（{width}）", "reported"))  # T01 never signs
    office = person(browsers, "office", width, then=f"/matters/{matter_id}/")
    box = office.locator("#action-accept")
    expect(box).to_contain_text("城关镇未签收")
    box.get_by_label("审核意见").fill("材料齐全，同意办结")
    box.get_by_role("button", name="审核通过").click()
    box = office.locator("#action-accept")
    expect(box).to_contain_text("请勾选确认框")
    box.scroll_into_view_if_needed()
    fits(office, width)
    screenshot(office, f"close-confirm-{width}.png")
    box.locator("input[name=confirm_missing_parts]").check()
    box.get_by_role("button", name="审核通过").click()
    timeline = office.locator("#timeline")
    expect(timeline).to_contain_text("未签收的协办单位：城关镇")
    expect(timeline).to_contain_text("审核意见：材料齐全，同意办结")
    expect(timeline).to_contain_text("已完成方案制定，正在组织实施。")  # the feedback's text
    expect(timeline).to_contain_text("已全部完成，验收合格。")  # the result's text
    expect(timeline).to_contain_text("交办日期：")
    expect(timeline).to_contain_text("办结日期：")
    timeline.scroll_into_view_if_needed()
    fits(office, width)
    screenshot(office, f"timeline-{width}.png")


# --- 6. the weekly report on any day --------------------------------------------------------------------
@pytest.mark.parametrize("width", WIDTHS)
def test_staff_draft_and_preview_the_weekly_report_on_any_day(site, browsers, width):
    staff = person(browsers, "staff", width, then="/reports/weekly/")
    expect(staff.get_by_text("也可随时起草、预览")).to_be_visible()
    staff.locator("#weekly-draft button").click()
    expect(staff).to_have_url(re.compile(r"/reports/weekly/\d+/$"))
    expect(staff.locator("#weekly-draft-note")).to_be_visible()
    expect(staff.locator("#report-status")).to_have_text("草稿")
    preview = staff.get_by_role("link", name="预览PDF")
    # Fetched by the page itself (same origin, the page's session): the draft as a PDF.
    status, kind, head = staff.evaluate("""async (url) => {
        const r = await fetch(url);
        const bytes = new Uint8Array(await r.arrayBuffer()).slice(0, 4);
        return [r.status, r.headers.get("content-type"), String.fromCharCode(...bytes)];
    }""", preview.get_attribute("href"))
    assert (status, kind, head) == (200, "application/pdf", "%PDF")
    fits(staff, width)
    screenshot(staff, f"weekly-draft-{width}.png")
