"""The web UI in a real browser: Playwright driving Debian's Chromium (headless, no download)
through the main journeys, in Chinese, on a county's own host.

Infrastructure (tests/browser_helpers.py): a live Django server in this process on
``http://browser.localhost:<port>/`` and a committed county ``browser`` built once for the module
(units D01/T01; staff, leader, office, clerk (D01), clerk1 (T01), admin) and dropped after it. Each journey builds the
matter it starts from through the real actions, then drives the pages as its users would.
Screenshots (Chinese UI) go to ``test-artifacts/screenshots/`` (git-ignored): login, todo,
board, matter-assigned, matter-detail (with its timeline), statement, scores, login-en and the
phone-width unit home; a failing journey leaves ``failed-<test>-<n>.png`` of each of its pages.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from browser_helpers import (
    PASSWORD,
    SCREENSHOTS,
    LiveServer,
    Site,
    build_county,
    drop_county,
    launch_chromium,
    login,
    new_context,
    overdue_matter_with_phone_step,
    screenshot,
    walk_matter,
)
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from duban.core import clock
from duban.supervision.actions import do_record_step

# django_db: the test database must exist (pytest-django sets it up only for tests that ask), and
# each test's own connection stays in its usual rolled-back transaction — unused: the journeys'
# data is committed by browser_helpers.in_county, on threads of its own.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """County ``browser``, committed, served live; with an overdue matter whose phone step the
    sweep has opened (journey d)."""
    for stale in SCREENSHOTS.glob("failed-*.png"):
        stale.unlink()
    with django_db_blocker.unblock():  # the server's threads query the database during the tests
        schema = build_county("browser")
        server = LiveServer().start()
        try:
            site = Site("browser", schema, server)
            site.facts["overdue"] = site.run(lambda: overdue_matter_with_phone_step("整治城区违规占道经营"))
            yield site
        finally:
            server.stop()
            drop_county("browser")


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for the module. Playwright's sync API keeps an asyncio loop marked running in
    this thread, and Django then refuses ORM calls here — even pytest-django's own BEGIN and
    ROLLBACK around each test. Those are safe (one thread, no coroutine shares the connection),
    so Django is told so for the module's lifetime only (DJANGO_ALLOW_ASYNC_UNSAFE)."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                yield browser
            finally:
                browser.close()
                # The tests' own connection was opened while Playwright's loop ran, in a context
                # Django's connection handler keys apart: close it here, in that context.
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Every page any browser test opens reports what its Content-Security-Policy refused: the
# ``securitypolicyviolation`` event (fired for each refused script, style, image, frame…) is sent to
# the test through an exposed binding, before any of the page's own scripts run.
CSP_LISTENER = """
window.__dubanCspSeen = [];
document.addEventListener("securitypolicyviolation", function (event) {
  var v = {page: document.location.href, directive: event.effectiveDirective, blocked: event.blockedURI,
           source: event.sourceFile, line: event.lineNumber, sample: event.sample};
  window.__dubanCspSeen.push(v);
  window.__dubanCspViolation(v);
}, true);
"""


# The one refusal the policy is meant to make: Redoc's "API docs by Redocly" link fetches its logo from
# cdn.redoc.ly (nothing of ours loads from another host); refused, the image removes itself.
EXPECTED_REFUSALS = {("img-src", "https://cdn.redoc.ly/redoc/logo-mini.svg")}


def expected(violation: dict) -> bool:
    return (violation["directive"], violation["blocked"]) in EXPECTED_REFUSALS


def describe(violation: dict) -> str:
    v = violation
    return f"{v['page']}: {v['directive']} refused {v['blocked'] or 'inline'} ({v['source']}:{v['line']}) {v['sample']!r}"


class CspWatch:
    """One browser context's CSP record: the violations its pages reported (the event, and
    Chromium's console message), and every HTML page it received without the header."""

    def __init__(self, context):
        self.violations: list[str] = []
        self.documents = []
        context.expose_binding("__dubanCspViolation", lambda source, v: None if expected(v) else
                               self.violations.append(describe(v)))
        context.add_init_script(CSP_LISTENER)
        context.on("console", self.on_console)
        context.on("response", self.on_response)

    def on_console(self, message):
        if "Content Security Policy" in message.text and not any(
                f"'{blocked}'" in message.text and f'"{directive} ' in message.text
                for directive, blocked in EXPECTED_REFUSALS):
            self.violations.append(f"console: {message.text}")

    def on_response(self, response):
        if response.request.resource_type == "document":
            self.documents.append(response)

    def problems(self) -> list[str]:
        """The violations, and the HTML pages served without a Content-Security-Policy."""
        missing = []
        for response in self.documents:
            headers = response.all_headers()
            if headers.get("content-type", "").startswith("text/html") and not headers.get(
                    "content-security-policy"):
                missing.append(f"{response.url} ({response.status}): no Content-Security-Policy header")
        return [*self.violations, *missing]


class Browsers:
    """Pages of people logged in on the county's host, one browser context (cookie jar) each.
    Every context watches its pages' Content-Security-Policy (CspWatch); the test fails if any
    page it opened broke the policy or came without one."""

    def __init__(self, request, chromium, site):
        self.request, self.chromium, self.site = request, chromium, site
        self.contexts = []
        self.watches = []
        self.failed_before = request.session.testsfailed

    def new_page(self, *, phone: bool = False):
        context = new_context(self.chromium, phone=phone)
        self.contexts.append(context)
        self.watches.append(CspWatch(context))
        return context.new_page()

    def csp_problems(self) -> list[str]:
        return [problem for watch in self.watches for problem in watch.problems()]

    def as_user(self, username: str, then: str | None = None, *, phone: bool = False):
        page = self.new_page(phone=phone)
        login(page, self.site, username, then=then)
        return page

    def close(self) -> list[str]:
        """Close every context; returns the CSP problems their pages had."""
        problems = self.csp_problems()
        failed = self.request.session.testsfailed > self.failed_before
        for n, context in enumerate(self.contexts):
            if failed:
                for m, page in enumerate(context.pages):
                    try:
                        screenshot(page, f"failed-{self.request.node.name}-{n}{m}.png")
                    except Exception:  # the test's own error says enough
                        pass
            context.close()
        return problems


@pytest.fixture
def browsers(request, chromium, site):
    browsers = Browsers(request, chromium, site)
    yield browsers
    problems = browsers.close()
    if problems:
        pytest.fail("Content-Security-Policy broken on the pages this test opened:\n" + "\n".join(problems))


def matter_id_of(page) -> int:
    found = re.search(r"/matters/(\d+)/", page.url)
    assert found, page.url
    return int(found.group(1))


def matter_state(site, matter_id):
    from duban.matters.models import Matter

    return site.run(lambda: Matter.objects.get(pk=matter_id).state)


def message(page):
    """The page's flash messages (Django messages, after the redirect an action answers with)."""
    return page.locator("ul.messages")


# --- infrastructure ------------------------------------------------------------------------------
def test_the_browser_reaches_the_county_on_its_own_host(site, browsers):
    page = browsers.new_page()
    response = page.goto(site.url("/healthz"))
    assert response.status == 200 and '"ok"' in page.inner_text("body")
    assert page.goto(site.server.url("nowhere", "/healthz")).status == 404
    # The login page, in Chinese by default whatever the browser's language.
    page.goto(site.url("/"))
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    screenshot(page, "login.png")


# --- a. staff register and assign a matter ---------------------------------------------------------
def test_a_leader_proposes_staff_register_leader_approves_staff_assign_to_d01(site, browsers):
    title = "推进城关片区老旧小区改造"
    deadline = clock.today() + timedelta(days=45)

    leader = browsers.as_user("leader", then="/matters/new/")
    form = leader.locator("#form-propose")
    form.get_by_label("事项名称").fill(title)
    form.get_by_label("事项内容").fill("完成城关片区12个老旧小区改造，年底前交付使用。")
    form.get_by_label("督办类别").select_option("work_report")
    form.get_by_label("县发展和改革局（D01）").check()
    form.get_by_label("要求完成时间").fill(deadline.isoformat())
    form.get_by_role("button", name="提交", exact=True).click()
    expect(message(leader)).to_contain_text("已提出督办事项")
    matter_id = matter_id_of(leader)
    assert matter_state(site, matter_id) == "proposed"

    # Staff find it on their to-do list and register it (登记造册).
    staff = browsers.as_user("staff")
    expect(staff).to_have_url(re.compile(r"/todo/$"))
    staff.locator("#todo").get_by_role("link", name=title).click()
    expect(staff.locator("#matter-title")).to_have_text(title)
    staff.get_by_role("button", name="登记", exact=True).click()
    expect(message(staff)).to_contain_text("已登记造册")
    assert matter_state(site, matter_id) == "registered"

    # The leader approves it (批准立项).
    leader.goto(site.url(f"/matters/{matter_id}/"))
    approve = leader.locator("#form-approve")
    approve.get_by_label("立项意见").fill("同意立项，请督查室抓紧交办。")
    approve.get_by_role("button", name="批准立项", exact=True).click()
    expect(message(leader)).to_contain_text("已批准立项")
    assert matter_state(site, matter_id) == "approved"

    # Staff assign it to D01 with a deadline (交办).
    staff.goto(site.url(f"/matters/{matter_id}/"))
    assign = staff.locator("#form-assign")
    assign.get_by_label("牵头单位").select_option("D01")
    assign.get_by_label("办理要求").fill("按期办结，每月底书面报告进展。")
    assign.get_by_label("或：自今日起工作日数").fill("")  # a date instead of the category's default days
    assign.get_by_label("办结日期").fill(deadline.isoformat())
    assign.get_by_role("button", name="交办", exact=True).click()
    expect(message(staff)).to_contain_text("已交办")
    expect(staff.locator("#matter-deadline")).to_contain_text(deadline.isoformat())
    expect(staff.locator("#unit-D01")).to_contain_text("未签收")

    def assigned():
        from duban.matters.models import Matter, MatterUnit

        matter = Matter.objects.get(pk=matter_id)
        lead = matter.units.get(role=MatterUnit.Role.LEAD)
        return matter.state, lead.unit.code, matter.deadline, matter.notices.count()

    assert site.run(assigned) == ("assigned", "D01", deadline, 1)
    screenshot(staff, "matter-assigned.png")


# --- b. the unit signs, feeds back and reports ---------------------------------------------------
def test_b_d01_clerk_signs_gives_feedback_and_reports_the_result(site, browsers):
    title = "建设县城第二污水处理厂"
    matter_id = site.run(lambda: walk_matter(title, "assigned"))

    clerk = browsers.as_user("clerk")
    expect(clerk).to_have_url(re.compile(r"/unit/$"))
    clerk.locator("#matters").get_by_role("link", name=title).click()
    expect(clerk.locator("#matter-title")).to_have_text(title)

    clerk.get_by_role("button", name="签收", exact=True).click()
    expect(message(clerk)).to_contain_text("已签收")
    expect(clerk.locator("#unit-D01")).to_contain_text("已签收")
    assert matter_state(site, matter_id) == "in_progress"

    feedback = clerk.locator("#form-feedback")
    feedback.get_by_label("反馈形式").select_option("written")
    feedback.get_by_label("进展情况").fill("已完成选址和环评，主体工程开工。")
    feedback.get_by_role("button", name="反馈进展", exact=True).click()
    expect(message(clerk)).to_contain_text("进展情况已反馈")
    expect(clerk.locator("#matter-feedback")).to_contain_text("已完成选址和环评")

    report = clerk.locator("#form-report")
    report.get_by_label("办理结果").fill("主体工程完工并通过验收，已投入试运行。")
    report.get_by_role("button", name="报送结果", exact=True).click()
    expect(message(clerk)).to_contain_text("办理结果已报送")
    expect(clerk.locator("#matter-reports")).to_contain_text("待审核")

    def facts():
        from duban.matters.models import Matter

        matter = Matter.objects.get(pk=matter_id)
        return matter.state, matter.feedback.count(), matter.reports.count()

    assert site.run(facts) == ("reported", 1, 1)


# --- c. the office leader sends it back ----------------------------------------------------------
def test_c_office_leader_sends_the_result_back_with_reasons(site, browsers):
    title = "整治城区主干道交通拥堵"
    matter_id = site.run(lambda: walk_matter(title, "reported"))

    office = browsers.as_user("office")
    expect(office).to_have_url(re.compile(r"/office/$"))
    office.get_by_role("link", name=title).first.click()
    expect(office.locator("#matter-title")).to_have_text(title)

    send_back = office.locator("#form-send-back")
    # Without reasons: refused, with the message under the field, nothing changed.
    send_back.get_by_role("button", name="退回复办", exact=True).click()
    expect(office.locator("#form-send-back .errorlist")).to_be_visible()
    assert matter_state(site, matter_id) == "reported"

    reasons = "办理结果缺少交通流量前后对比数据，请补充后重新报送。"
    office.locator("#form-send-back").get_by_label("退回理由").fill(reasons)
    office.locator("#form-send-back").get_by_role("button", name="退回复办", exact=True).click()
    expect(message(office)).to_contain_text("已退回复办")
    expect(office.locator("#matter-reports")).to_contain_text(reasons)
    timeline = office.locator("#timeline")
    expect(timeline).to_contain_text("退回复办")
    expect(timeline).to_contain_text(reasons)
    for step in ("登记", "交办", "签收", "报送"):
        expect(timeline).to_contain_text(step)

    def facts():
        from duban.matters.models import Matter

        matter = Matter.objects.get(pk=matter_id)
        return matter.state, matter.redo_count

    assert site.run(facts) == ("redo", 1)
    screenshot(office, "matter-detail.png")


# --- d. the sweep opens a phone step; staff record it ----------------------------------------------
def test_d_staff_record_the_phone_step_the_sweep_opened_from_their_todo(site, browsers):
    overdue = site.facts["overdue"]
    step_id = overdue["step_id"]

    staff = browsers.as_user("staff")
    expect(staff).to_have_url(re.compile(r"/todo/$"))
    row = staff.locator(f"#steps #step-{step_id}")
    expect(row).to_contain_text("电话")
    expect(row).to_contain_text(overdue["number"])
    screenshot(staff, "todo.png")

    staff.goto(site.url("/board/"))
    expect(staff.locator(f"#light-red #board-matter-{overdue['matter_id']}")).to_be_visible()
    screenshot(staff, "board.png")

    staff.goto(site.url("/todo/"))
    staff.locator(f"#step-{step_id}").get_by_role("link", name="登记督办").click()
    expect(staff).to_have_url(re.compile(rf"/steps/{step_id}/record/$"))
    form = staff.get_by_role("form", name="督办记录")
    # Evidence is required: an empty form is refused with the field's message.
    form.get_by_role("button", name="记录督办", exact=True).click()
    expect(staff.get_by_text("请填写“接听人”。")).to_be_visible()

    form = staff.get_by_role("form", name="督办记录")
    now = timezone.localtime(clock.now())
    form.get_by_label("接听人").fill("县发改局 刘局长")
    form.get_by_label("通话时间").fill(now.strftime("%Y-%m-%dT09:30"))
    form.get_by_label("承诺完成日期").fill((now.date() + timedelta(days=10)).isoformat())
    form.get_by_label("通话记录").fill("已电话督促，单位承诺十日内报送办理结果。")
    form.get_by_label("督办日期").fill(now.date().isoformat())
    form.get_by_role("button", name="记录督办", exact=True).click()
    expect(message(staff)).to_contain_text("已记录")
    expect(staff).to_have_url(re.compile(rf"/steps/{step_id}/$"))

    def recorded():
        from duban.supervision.models import EscalationStep, LedgerEntry

        step = EscalationStep.objects.get(pk=step_id)
        amounts = [str(e.amount) for e in LedgerEntry.objects.filter(step=step)]
        return step.status, step.recorded_by.username, step.evidence.get("contact"), amounts

    assert site.run(recorded) == ("recorded", "staff", "县发改局 刘局长", ["0.10"])  # deductions are positive


def test_the_step_form_proposes_today_as_the_day_of_the_step(site, browsers):
    """督办日期 starts as today (EvidenceForm's initial), in the form a date input can show."""
    step_id = site.run(lambda: overdue_matter_with_phone_step("清理县城背街小巷积存垃圾")["step_id"])
    staff = browsers.as_user("staff", then=f"/steps/{step_id}/record/")
    expect(staff.get_by_label("督办日期")).to_have_value(clock.today().isoformat())


# --- e. the unit's score drops by the pack's amount ----------------------------------------------
@pytest.fixture
def phone_step_recorded(site):
    """Journey d's outcome (recorded through the actions here if d did not run first)."""

    def ensure():
        from duban.accounts.models import User
        from duban.supervision.models import EscalationStep

        step = EscalationStep.objects.get(pk=site.facts["overdue"]["step_id"])
        if step.status == EscalationStep.Status.DUE:
            do_record_step(step.pk, actor=User.objects.get(username="staff"), evidence={
                "contact": "县发改局 刘局长", "contacted_at": clock.now(),
                "promised_date": clock.today() + timedelta(days=10)})

    site.run(ensure)


def test_e_d01_statement_shows_the_score_dropped_by_the_phone_urging_amount(site, browsers, phone_step_recorded):
    clerk = browsers.as_user("clerk")
    clerk.get_by_role("link", name="评分").click()  # the unit's nav link goes to its own statement
    expect(clerk).to_have_url(re.compile(r"/scores/D01/"))
    expect(clerk.locator("#statement-base")).to_have_text("3.00")
    expect(clerk.locator("#statement-deducted")).to_contain_text("0.10")
    expect(clerk.locator("#statement-score")).to_have_text("2.90")
    line = clerk.locator("table tbody tr", has_text="电话或口头催办")
    expect(line).to_have_count(1)
    expect(line).to_contain_text(site.facts["overdue"]["number"])
    expect(line.locator("td.num").first).to_have_text("0.10")
    expect(line.locator("td.num").last).to_have_text("2.90")
    screenshot(clerk, "statement.png")

    staff = browsers.as_user("staff", then="/scores/")
    d01 = staff.locator('#ranking tr[data-unit="D01"]')
    expect(d01).to_contain_text("2.90")
    expect(staff.locator('#ranking tr[data-unit="T01"]')).to_contain_text("3.00")
    expect(staff.locator("#chart-tiers")).to_have_attribute("data-ready", "1")  # ECharts drew it
    expect(staff.locator("#chart-on-time")).to_have_attribute("data-ready", "1")
    screenshot(staff, "scores.png")


# --- f. the language switch ----------------------------------------------------------------------
def test_f_the_language_switch_shows_english_and_back(site, browsers):
    page = browsers.new_page()
    page.goto(site.url("/login/"))
    expect(page.get_by_label("用户名")).to_be_visible()
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("User name")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    screenshot(page, "login-en.png")
    login(page, site, "staff", then="/todo/")  # the choice outlives the login
    expect(page.locator("#site-nav")).to_contain_text("To-do")
    page.get_by_role("button", name="简体中文", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#site-nav")).to_contain_text("待办")


# --- g. the weekly 督查专报 goes up after the office leader's review (一(二)) ------------------------
def test_g_staff_submit_the_weekly_report_the_office_leader_returns_it_staff_edit_the_office_leader_issues(
        site, browsers):
    def last_weeks_report():
        from datetime import datetime, time

        from duban.reports.weekly import county_zone, draft_weekly_report

        today = clock.today()
        last_friday = today - timedelta(days=today.isoweekday() - 1 + 3)
        return draft_weekly_report(datetime.combine(last_friday, time(16, 30), tzinfo=county_zone())).report.pk

    report_id = site.run(last_weeks_report)
    url = site.url(f"/reports/weekly/{report_id}/")

    def status():
        from duban.reports.models import WeeklyReport

        return site.run(lambda: WeeklyReport.objects.get(pk=report_id).status)

    staff = browsers.as_user("staff", then=f"/reports/weekly/{report_id}/")
    editor = staff.get_by_role("form", name="编辑专报")
    editor.get_by_label("总体情况").fill("本周新交办事项按要求推进。")
    editor.get_by_role("button", name="保存", exact=True).click()
    expect(message(staff)).to_contain_text("已保存")
    staff.get_by_role("button", name="报送审核", exact=True).click()
    expect(message(staff)).to_contain_text("已报送办公室领导审核")
    expect(staff.locator("#report-status")).to_have_text("待审核")
    assert status() == "submitted"

    office = browsers.as_user("office", then=f"/reports/weekly/{report_id}/")
    back = office.get_by_role("form", name="退回修改")
    back.get_by_label("审核意见（退回理由）").fill("请补充超期事项的督办情况。")
    back.get_by_role("button", name="退回修改", exact=True).click()
    expect(message(office)).to_contain_text("已退回")
    assert status() == "draft"

    staff.goto(url)
    expect(staff.locator("#weekly-reviews")).to_contain_text("请补充超期事项的督办情况。")
    editor = staff.get_by_role("form", name="编辑专报")
    editor.get_by_label("总体情况").fill("本周新交办事项按要求推进；超期事项已电话督办。")
    editor.get_by_role("button", name="保存", exact=True).click()
    expect(message(staff)).to_contain_text("已保存")
    staff.get_by_role("button", name="报送审核", exact=True).click()
    expect(message(staff)).to_contain_text("已报送办公室领导审核")

    office.goto(url)
    office.get_by_role("button", name="审核通过并印发", exact=True).click()
    expect(message(office)).to_contain_text("督查专报已印发")
    expect(office.locator("#report-status")).to_have_text("已印发")
    expect(office.locator("h1")).to_contain_text("督查专报〔")
    assert status() == "issued"
    screenshot(office, "weekly-report-issued.png")


# --- phone-width ---------------------------------------------------------------------------------
def test_the_unit_home_fits_a_phone_screen(site, browsers):
    clerk = browsers.as_user("clerk", phone=True)
    expect(clerk).to_have_url(re.compile(r"/unit/$"))
    expect(clerk.locator("#matters")).to_be_visible()
    overflow = clerk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px phone screen"
    screenshot(clerk, "phone-unit-home.png")
    toggle = clerk.get_by_role("button", name="菜单")
    if toggle.is_visible():  # the navigation folds into a menu on a narrow screen
        toggle.click()
        expect(clerk.locator("#site-nav")).to_be_visible()
        screenshot(clerk, "phone-menu.png")


def public_users(site, *, city=(), operators=()):
    """City users of the browser county's city (its comparison refreshed: the portal's charts have
    data) and platform operators, in the public schema (call on a thread: browser_helpers.in_thread)."""
    from django.db import connection

    from duban.accounts.actions import do_create_user
    from duban.comparison.actions import do_set_reference_pack
    from duban.comparison.refresh import refresh_all
    from tenants import provisioning
    from tenants.models import City

    connection.set_schema_to_public()
    city_code = f"{site.slug}city"
    for username in city:
        provisioning.create_city_user(city_code, username, actor="tests", password=PASSWORD, full_name="市督查室")
    for username in operators:
        do_create_user(username, actor="tests", role="platform_operator", password=PASSWORD, full_name="平台运维")
    if city:
        city = City.objects.get(code=city_code)
        do_set_reference_pack(city, "county_default", actor="tests")
        refresh_all(list(city.counties.all()))


def drop_public_users(usernames):
    # Imported here: the ORM is used on in_thread's thread, after pytest-django set Django up.
    from django.db import connection

    from duban.accounts.models import User
    from tenants.models import CityMembership

    connection.set_schema_to_public()
    CityMembership.objects.filter(user__username__in=usernames).delete()
    # Raw: the collector would follow the user's relations into county tables (absent here).
    users = User.objects.filter(username__in=usernames)
    users._raw_delete(users.db)


# --- the city portal on the public host ----------------------------------------------------------
def test_the_city_portal_draws_its_comparison_charts(site, browsers):
    """A city user of the browser county's city logs in on the public host and sees the
    comparison table and its four charts drawn by ECharts."""
    from browser_helpers import in_thread

    in_thread(lambda: public_users(site, city=["cityview"]), timeout=120)
    try:
        page = browsers.new_page()
        page.goto(site.server.url(None, "/login/"))
        page.locator("#id_username").fill("cityview")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form[action='/login/'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/city/$"))
        expect(page.locator("#comparison-table tbody tr[data-county='browser']")).to_contain_text("浏览器县")
        own = page.locator("#comparison-table [data-metric='own_mean_score']").inner_text()
        assert re.fullmatch(r"[0-3]\.\d{3}", own), own  # one pack: the reference pack rescores to the same
        expect(page.locator("#comparison-table [data-metric='reference_mean_score']")).to_have_text(own)
        for chart in ("chart-scores", "chart-box", "chart-rates", "chart-trend"):
            expect(page.locator(f"#{chart}")).to_have_attribute("data-ready", "1")
            expect(page.locator(f"#{chart} canvas")).to_have_count(1)
        expect(page.locator("#def-on_time_rate")).to_have_text("按期办结率")
        screenshot(page, "city-portal.png")
    finally:
        in_thread(lambda: drop_public_users(["cityview"]), timeout=60)


# --- the Content-Security-Policy on every page of every role ---------------------------------------
POLICY = {"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
          "font-src": "'self'", "connect-src": "'self'", "frame-ancestors": "'none'", "form-action": "'self'",
          "base-uri": "'none'", "object-src": "'none'"}


def directives(header: str) -> dict:
    parts = [part.strip().split(None, 1) for part in header.split(";") if part.strip()]
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_policy(response, *, allowed=()):
    """The page came with the policy: each directive present, and none loosened (no
    'unsafe-inline', 'unsafe-eval', wildcard or other host; a nonce is the only addition, but
    for the ``allowed`` sources of that page)."""
    header = response.all_headers().get("content-security-policy")
    assert header, f"{response.url} ({response.status}): no Content-Security-Policy header"
    found = directives(header)
    for name, value in POLICY.items():
        assert name in found, f"{response.url}: no {name} in {header!r}"
        extra = [source for source in found[name].split() if source not in value.split()
                 and not source.startswith("'nonce-") and source not in allowed]
        assert not extra, f"{response.url}: {name} also allows {extra} ({header!r})"


class Visit:
    """Opens pages, checks each one's policy and what it refused, and clicks nothing it need not."""

    def __init__(self, page):
        self.page, self.seen = page, []

    def goto(self, url: str, status: int = 200, *, allowed=()):
        response = self.page.goto(url)
        assert response is not None and response.status == status, (url, response and response.status)
        self.page.wait_for_load_state("load")
        assert_policy(response, allowed=allowed)
        self.assert_nothing_refused()
        self.seen.append(url)
        return response

    def assert_nothing_refused(self):
        """What this page itself recorded (the test's record may get it a moment later)."""
        seen = [v for v in self.page.evaluate("window.__dubanCspSeen") if not expected(v)]
        assert seen == [], "\n".join(describe(v) for v in seen)

    def menu(self) -> list[str]:
        """Every link of the page's navigation (the user's menu), visited."""
        hrefs = self.page.locator("#site-nav a[data-nav-key]").evaluate_all("links => links.map(a => a.href)")
        assert hrefs, f"{self.page.url}: no menu"
        for href in hrefs:
            self.goto(href)
        return hrefs

    def hover_charts(self):
        """ECharts draws its tooltip as a styled element when the pointer is over a chart."""
        for canvas in self.page.locator("[data-ready='1'] canvas").all():
            box = canvas.bounding_box()
            self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            self.page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
        self.assert_nothing_refused()


def otp_user(username: str):
    """A supervision-staff user with a confirmed TOTP device: their login stops at /login/otp/."""
    # Imported here: the ORM is used on in_thread's thread, after pytest-django set Django up.
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from duban.accounts.actions import do_create_user

    user = do_create_user(username, actor="tests", role="supervision_staff", password=PASSWORD, full_name="孙督办")
    TOTPDevice.objects.create(user=user, name="手机", confirmed=True)


def test_every_page_of_every_role_carries_the_policy_and_breaks_none_of_it(site, browsers):
    """Each role's whole menu (office staff, office leader, county leader, unit clerk, the county
    admin with the Django admin, a city user, a platform operator), the login, one-time-password
    and error pages, and the pages with scripts of their own (the matter page's htmx, the charts,
    the year picker): each comes with the policy, and nothing on it is refused."""
    from browser_helpers import in_thread

    matter_id = site.run(lambda: walk_matter("改造县城供水老旧管网", "reported"))
    site.run(lambda: otp_user("otpstaff"))
    in_thread(lambda: public_users(site, city=["cspcity"], operators=["cspops"]), timeout=120)
    try:
        # Signed out: the login pages and the error pages, on the county's and the public host.
        visit = Visit(browsers.new_page())
        visit.goto(site.url("/login/"))
        visit.goto(site.url("/no-such-page/"), status=404)
        visit.goto(site.server.url(None, "/"))
        visit.goto(site.server.url(None, "/login/"))
        visit.goto(site.server.url("nowhere", "/login/"), status=404)

        for username, home in (("staff", "/todo/"), ("office", "/office/"), ("leader", "/leader/"),
                               ("clerk", "/unit/"), ("admin", "/todo/")):
            page = browsers.as_user(username)
            visit = Visit(page)
            visit.goto(site.url(home))
            menu = visit.menu()
            visit.goto(site.url(f"/matters/{matter_id}/"))
            if username in ("staff", "office", "admin"):
                visit.goto(site.url("/account/otp/"))  # the QR code to bind an authenticator
                expect(page.locator(".qr svg")).to_be_visible()
            if username == "clerk":
                visit.goto(site.url("/matters/new/"), status=403)  # a unit may not propose a matter
            if username == "staff":
                visit.goto(site.url("/scores/"))
                expect(page.locator("#chart-tiers")).to_have_attribute("data-ready", "1")
                visit.hover_charts()
                # The year picker submits itself when another year is chosen.
                year = page.locator("#id_year")
                other = [v for v in year.locator("option").evaluate_all("os => os.map(o => o.value)")
                         if v != year.input_value()]
                if other:
                    year.select_option(other[0])
                    expect(page).to_have_url(re.compile(rf"year={other[0]}"))
                # The matter page's actions go through htmx: a refused send-back answers 400 into the page.
                office = browsers.as_user("office", then=f"/matters/{matter_id}/")
                office.locator("#form-send-back").get_by_role("button", name="退回复办", exact=True).click()
                expect(office.locator("#form-send-back .errorlist")).to_be_visible()
            if username == "admin":
                assert site.url("/admin/") in menu
                visit.goto(site.url("/admin/"))  # every model's list and add form, as the index links them
                admin_links = page.locator("#content-main a[href^='/admin/']").evaluate_all(
                    "links => [...new Set(links.map(a => a.href))]")
                assert admin_links, "the admin index lists no models"
                for href in admin_links:
                    visit.goto(href)

        # The API's documentation pages, as a developer of the county opens them (Swagger UI, Redoc).
        page = browsers.as_user("admin")
        docs = Visit(page)
        docs.goto(site.url("/api/v1/docs/"))
        expect(page.locator(".swagger-ui .info")).to_be_visible()
        docs.assert_nothing_refused()
        # Redoc's bundle inserts two fixed <style> elements before it can be given the nonce: their
        # hashes, on its page only (api.docs).
        from api.docs import REDOC_POLICY

        docs.goto(site.url("/api/v1/redoc/"), allowed=REDOC_POLICY["style-src"])
        expect(page.locator(".api-content")).to_be_visible()
        docs.assert_nothing_refused()

        # The one-time password's page, after the password.
        page = browsers.new_page()
        login_otp = Visit(page)
        login_otp.goto(site.url("/login/"))
        page.locator("#id_username").fill("otpstaff")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form[action='/login/'] button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/login/otp/"))
        login_otp.goto(page.url)

        # The public host: a city user's portal (its charts), a platform operator's menu.
        for username, home in (("cspcity", "/city/"), ("cspops", "/platform/")):
            page = browsers.new_page()
            visit = Visit(page)
            visit.goto(site.server.url(None, "/login/"))
            page.locator("#id_username").fill(username)
            page.locator("#id_password").fill(PASSWORD)
            page.locator("form[action='/login/'] button[type=submit]").click()
            expect(page).to_have_url(re.compile(rf"{home}$"))
            visit.goto(page.url)
            visit.menu()
            if username == "cspcity":
                visit.goto(site.server.url(None, "/city/"))
                expect(page.locator("#chart-scores")).to_have_attribute("data-ready", "1")
                visit.hover_charts()
    finally:
        in_thread(lambda: drop_public_users(["cspcity", "cspops"]), timeout=60)
    problems = browsers.csp_problems()
    assert problems == [], "\n".join(problems)


# --- the house's error pages (issue 20 point 3) ------------------------------------------------------
@pytest.mark.parametrize("width", [1366, 390])
def test_a_clerk_opening_a_matter_not_theirs_sees_the_house_404(site, browsers, width):
    """A unit clerk opens a matter that is not theirs (missing and not yours are the same answer):
    the house's 404 page, in Chinese, in the site's layout, fitting the screen; likewise a missing
    page on the public host."""
    clerk = browsers.as_user("clerk1", phone=width == 390)
    if width != 390:
        clerk.set_viewport_size({"width": width, "height": 900})
    response = clerk.goto(site.url("/matters/999999/"))
    assert response.status == 404
    expect(clerk.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(clerk.locator("h1")).to_have_text("页面不存在")
    expect(clerk.get_by_role("link", name="返回首页")).to_be_visible()
    expect(clerk.locator(".topbar")).to_be_visible()
    overflow = clerk.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the 404 page is {overflow}px wider than a {width}px screen"
    screenshot(clerk, f"error-404-{width}.png")
    public = browsers.new_page(phone=width == 390)
    if width != 390:
        public.set_viewport_size({"width": width, "height": 900})
    assert public.goto(site.server.url(None, "/no-such-page/")).status == 404
    expect(public.locator("h1")).to_have_text("页面不存在")
    screenshot(public, f"error-404-public-{width}.png")
