"""The public host in a real browser (issue 20 points 11 and 12): the city's comparison chart and
table, and the platform operator's console, at 1366 and 390 pixels wide.

Infrastructure as tests/test_browser.py (browser_helpers: a live server, committed data built on
threads of its own; the CSP recorder of test_browser.Browsers): two committed counties of one city,
``cityops`` (its D01 lost 0.1 for a recorded phone urging) and ``cityops2`` (no deductions), so the
chart compares a 2.95 with a 3.00. Screenshots: city-chart-{1366,390}.png and
operator-console-{1366,390}.png (with -county and -city pages of the operator's journey).
"""

from __future__ import annotations

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
    in_thread,
    overdue_matter_with_phone_step,
    screenshot,
)
from playwright.sync_api import expect
from test_browser import Browsers, chromium, drop_public_users, public_users  # noqa: F401 (chromium: a fixture)

from duban.core import clock

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SECOND = "cityops2"
CREATED = "opsnew"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """Counties ``cityops`` and ``cityops2`` of city ``cityopscity``, committed and served live;
    a city user ``cityview2`` (the city's reference pack county_default, snapshots refreshed) and
    a platform operator ``opsview``."""
    for stale in SCREENSHOTS.glob("failed-*.png"):
        stale.unlink()
    with django_db_blocker.unblock():
        schema = build_county("cityops")
        server = LiveServer().start()
        try:
            site = Site("cityops", schema, server)
            in_thread(lambda: _second_county(), timeout=180)
            site.run(_deduct_d01)
            in_thread(lambda: public_users(site, city=["cityview2"], operators=["opsview"]), timeout=180)
            yield site
        finally:
            server.stop()
            in_thread(lambda: drop_public_users(["cityview2", "opsuser"]), timeout=60)
            in_thread(_retire_operator, timeout=60)
            drop_county(CREATED)
            drop_county(SECOND)
            drop_county("cityops")


def _retire_operator():
    """The operator acted: the (append-only) public audit trail names it, so its row stays,
    deactivated; the rest of the suite filters to its own users."""
    from django.db import connection

    from duban.accounts.models import User

    connection.set_schema_to_public()
    User.objects.filter(username="opsview").update(is_active=False)


def _second_county():
    from django.db import connection
    from django_tenants.utils import schema_context

    from duban.units.actions import do_create_unit
    from tenants import provisioning

    connection.set_schema_to_public()
    county = provisioning.create_county(SECOND, "浏览器二县", "cityopscity", actor="tests", admin_username=None).county
    with schema_context(county.schema_name):
        do_create_unit("D01", "县发展和改革局", "department", actor="tests")
        do_create_unit("T01", "城关镇", "township", actor="tests")


def _deduct_d01():
    """D01 of cityops: an overdue matter's phone step, recorded (0.1 off under county_default)."""
    from duban.accounts.models import User
    from duban.supervision.actions import do_record_step

    facts = overdue_matter_with_phone_step("城区积水点整治")
    do_record_step(facts["step_id"], actor=User.objects.get(username="staff"), evidence={
        "contact": "县发改局 刘局长", "contacted_at": clock.now(), "promised_date": clock.today() + timedelta(days=10)})


@pytest.fixture
def browsers(request, chromium, site):  # noqa: F811 (chromium: the imported fixture)
    browsers = Browsers(request, chromium, site)
    yield browsers
    problems = browsers.close()
    if problems:
        pytest.fail("Content-Security-Policy broken on the pages this test opened:\n" + "\n".join(problems))


def _public_login(browsers, site, username, *, width):
    page = browsers.new_page(phone=width == 390)
    if width != 390:
        page.set_viewport_size({"width": width, "height": 900})
    page.goto(site.server.url(None, "/login/"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    return page


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _score_axis(page) -> list[float]:
    """The extent of the score chart's value axis, as ECharts drew it."""
    return page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.getElementById('chart-scores'));
        return chart.getModel().getComponent('yAxis').axis.scale.getExtent();
    }""")


# --- point 11: the city's chart and table ---------------------------------------------------------------
@pytest.mark.parametrize("width", [1366, 390])
def test_the_city_chart_starts_at_zero_the_period_switch_moves_to_now_and_the_table_fits(site, browsers, width):
    page = _public_login(browsers, site, "cityview2", width=width)
    expect(page).to_have_url(re.compile(r"/city/$"))
    rows = page.locator("#comparison-table tbody tr")
    expect(rows).to_have_count(2)
    first = page.locator("#comparison-table tr[data-county='cityops']")
    own = first.locator("[data-metric='own_mean_score']").inner_text()
    # One pack on both sides: the reference pack rescores to the same score (2.950: D01 2.9, T01 3.0).
    assert own == "2.950"
    expect(first.locator("[data-metric='reference_mean_score']")).to_have_text(own)
    expect(page.locator("#comparison-table tr[data-county='cityops2'] [data-metric='own_mean_score']")).to_have_text(
        "3.000")
    expect(page.locator("#chart-scores")).to_have_attribute("data-ready", "1")
    low, high = _score_axis(page)
    assert low == 0 and high >= 3, (low, high)  # bars from 0: 2.95 and 3.00 both show, in proportion

    # The table fits: no sideways scrolling of the page, nor of the table in its box.
    assert _overflow(page) <= 0, f"the city page is {_overflow(page)}px wider than a {width}px screen"
    table_overflow = page.evaluate("""() => {
        const box = document.querySelector('#comparison .table-wrap');
        return box.scrollWidth - box.clientWidth;
    }""")
    assert table_overflow <= 0, f"the comparison table needs {table_overflow}px more than its box at {width}px"
    screenshot(page, f"city-chart-{width}.png")

    # 月 and 年度 show the current month and year, whatever start the quarter had.
    today = clock.today()
    with page.expect_navigation():
        page.locator("#cmp-period").select_option("month")
    assert f"start={today:%Y-%m}-01" in page.url and "period=month" in page.url
    expect(page.locator("#h-compare")).to_contain_text(f"{today.year}年{today.month}月")
    expect(page.locator("#cmp-start")).to_have_value(f"{today:%Y-%m}-01")
    with page.expect_navigation():
        page.locator("#cmp-period").select_option("year")
    assert f"start={today.year}-01-01" in page.url
    expect(page.locator("#h-compare")).to_contain_text(f"{today.year}年")
    expect(page.locator("#chart-scores")).to_have_attribute("data-ready", "1")
    assert _score_axis(page)[0] == 0


# --- point 12: the operator's console -------------------------------------------------------------------
def test_the_operator_opens_suspends_resumes_a_county_and_manages_city_users(site, browsers):
    page = _public_login(browsers, site, "opsview", width=1366)
    expect(page).to_have_url(re.compile(r"/platform/$"))
    expect(page.locator("h1")).to_have_text("运维控制台")
    expect(page.locator("#ops-counties tr[data-county='cityops']")).to_contain_text("浏览器县")

    # Open a county: a bad slug first (400, under the field), then a good one.
    page.locator("#new-county").click()
    page.locator("#id_slug").fill("Bad Slug")
    page.locator("#id_name").fill("运维新县")
    page.locator("#id_city").select_option("cityopscity")
    page.locator("#id_abbreviation").fill("运")
    page.locator("form[action='/platform/counties/new/'] button[type=submit]").click()
    expect(page.locator("[data-field='slug']")).to_be_visible()
    page.locator("#id_slug").fill(CREATED)
    page.locator("form[action='/platform/counties/new/'] button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("已开通运维新县", timeout=60_000)
    expect(page.locator("#admin-password")).not_to_be_empty()

    # Suspend it with a reason, resume it; switching to the pack it runs is refused with the field named.
    page.get_by_role("link", name="管理该县").click()
    page.locator("#suspend-form #id_reason").fill("试运行结束，暂停")
    page.locator("#suspend-form button[type=submit]").click()
    expect(page.locator("#county-status")).to_have_attribute("data-status", "suspended")
    expect(page.locator(".messages")).to_contain_text("已暂停运维新县")
    page.locator("#rulepack-form button[type=submit]").click()
    expect(page.locator("#rulepack-form [data-field='rulepack']")).to_be_visible()
    page.locator("#resume-form button[type=submit]").click()
    expect(page.locator("#county-status")).to_have_attribute("data-status", "active")
    screenshot(page, "operator-console-county-1366.png")

    # A city user added (password shown once), listed, removed.
    page.get_by_role("link", name="市和市级用户").click()
    page.locator("#ops-cities tr[data-city='cityopscity'] a").click()
    page.locator("#id_username").fill("opsuser")
    page.locator("#id_full_name").fill("市督查室 王科长")
    page.locator("#city-user-form button[type=submit]").click()
    expect(page.locator("#user-created")).to_contain_text("opsuser")
    expect(page.locator("#ops-city-users tr[data-user='opsuser']")).to_be_visible()
    screenshot(page, "operator-console-city-1366.png")
    page.locator("#ops-city-users tr[data-user='opsuser'] button[type=submit]").click()
    expect(page.locator("#ops-city-users-ended li[data-user='opsuser']")).to_be_visible()

    page.get_by_role("link", name="县", exact=True).click()
    expect(page.locator(f"#ops-counties tr[data-county='{CREATED}'] [data-status]")).to_have_attribute(
        "data-status", "active")
    assert _overflow(page) <= 0
    screenshot(page, "operator-console-1366.png")

    def audited():
        from duban.audit.models import AuditEvent

        return set(AuditEvent.objects.filter(actor_label="user:opsview").values_list("action", flat=True))

    assert in_thread(audited, timeout=30) >= {"county.create", "county.suspend", "county.resume", "city.member",
                                              "city.member_remove", "user.create"}


def test_the_operator_console_fits_a_phone_and_refuses_a_city_user(site, browsers):
    page = _public_login(browsers, site, "opsview", width=390)
    expect(page).to_have_url(re.compile(r"/platform/$"))
    expect(page.locator("#ops-counties tr[data-county='cityops']")).to_be_visible()
    assert _overflow(page) <= 0, f"the console is {_overflow(page)}px wider than a 390px phone screen"
    screenshot(page, "operator-console-390.png")
    page.goto(site.server.url(None, "/platform/counties/cityops/"))
    assert _overflow(page) <= 0
    screenshot(page, "operator-console-county-390.png")

    city = _public_login(browsers, site, "cityview2", width=390)
    response = city.goto(site.server.url(None, "/platform/"))
    assert response.status == 403
    expect(city.locator("body")).to_contain_text("只有平台运维人员")
