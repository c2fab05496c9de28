"""Issue 22 point 3 in a real browser at phone width (390 px, Playwright driving Debian's Chromium):
a clerk taps the short link of a notice (as an SMS, WeCom or DingTalk message carries it) without
being logged in, signs in on the county's login page and lands on the matter; the same link on
another county's host is not found; an expired link says so. Also at 390 px: the clerk's 接收方式
(phone, WeCom and DingTalk ids, quiet hours) and the county admin's 通知渠道 page.

Infrastructure as tests/test_browser.py (its ``chromium`` and ``browsers`` fixtures, with their
Content-Security-Policy watch): a live server in this process and a committed county of its own,
``phonelink``, dropped after the module. Screenshots in ``test-artifacts/screenshots/``:
phone-link-login-390.png, phone-link-matter-390.png, phone-link-other-county-390.png,
phone-link-expired-390.png, reach-settings-390.png, channel-settings-390.png.
"""
# ruff: noqa: F811 — the browser fixtures of test_browser are imported by name

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from browser_helpers import SCREENSHOTS, LiveServer, Site, build_county, drop_county, screenshot, walk_matter
from playwright.sync_api import expect
from test_browser import browsers, chromium  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PASSWORD = "Browser-pass-2026"  # browser_helpers.build_county's


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """County ``phonelink``, committed, served live, with a matter assigned to D01 and the short
    link of the clerk's notice of it."""
    for stale in SCREENSHOTS.glob("failed-*.png"):
        stale.unlink()
    with django_db_blocker.unblock():
        schema = build_county("phonelink")
        server = LiveServer().start()
        try:
            site = Site("phonelink", schema, server)

            def matter_and_link():
                from duban.notifications import reach
                from duban.notifications.models import Notification

                matter_id = walk_matter("更换老城区破损供水管道", "assigned")
                note = Notification.objects.get(matter_id=matter_id, recipient__username="clerk",
                                                event="matter.assigned")
                return {"matter": matter_id, "code": reach.make_link(note).code}

            site.facts.update(site.run(matter_and_link))
            yield site
        finally:
            server.stop()
            drop_county("phonelink")


def fits(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 390px phone screen"


def test_the_link_of_a_notice_opens_the_matter_after_the_login_on_a_phone(site, browsers):
    code, matter_id = site.facts["code"], site.facts["matter"]
    phone = browsers.new_page(phone=True)
    phone.goto(site.url(f"/m/{code}"))
    expect(phone).to_have_url(re.compile(rf"/login/\?next=/m/{code}$"))
    expect(phone.get_by_role("button", name="登录", exact=True)).to_be_visible()
    fits(phone)
    screenshot(phone, "phone-link-login-390.png")
    phone.locator("#id_username").fill("clerk")
    phone.locator("#id_password").fill(PASSWORD)
    phone.locator("form[action='/login/'] button[type=submit]").click()
    expect(phone).to_have_url(re.compile(rf"/matters/{matter_id}/$"))
    expect(phone.locator("h1")).to_contain_text("更换老城区破损供水管道")
    fits(phone)
    screenshot(phone, "phone-link-matter-390.png")

    def read():
        from duban.notifications.models import PhoneLink

        link = PhoneLink.objects.select_related("notification").get(code=code)
        return link.opened_at is not None, link.notification.read_at is not None

    assert site.run(read) == (True, True)

    # The same link on another county's host (alpha, from the suite's world): not found.
    elsewhere = browsers.new_page(phone=True)
    answer = elsewhere.goto(site.server.url("alpha", f"/m/{code}"))
    assert answer.status == 404
    expect(elsewhere.locator("h1")).to_have_text("页面不存在")
    fits(elsewhere)
    screenshot(elsewhere, "phone-link-other-county-390.png")


def test_an_expired_link_says_so_on_a_phone(site, browsers):
    def expire():
        from django.utils import timezone

        from duban.notifications import reach
        from duban.notifications.models import Notification, PhoneLink

        note = Notification.objects.filter(recipient__username="clerk1").order_by("id").first()
        link = reach.make_link(note)
        PhoneLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(days=1))
        return link.code

    code = site.run(expire)
    phone = browsers.new_page(phone=True)
    answer = phone.goto(site.url(f"/m/{code}"))
    assert answer.status == 410
    expect(phone.locator("h1")).to_have_text("链接已过期")
    expect(phone.locator("#link-expired")).to_contain_text("天内有效")
    fits(phone)
    screenshot(phone, "phone-link-expired-390.png")


def test_the_clerk_sets_how_they_are_reached_and_the_admin_sees_the_channels_on_a_phone(site, browsers):
    clerk = browsers.as_user("clerk", "/notifications/preferences/", phone=True)
    clerk.locator("#id_reach-phone").fill("13800000001")
    clerk.locator("#id_reach-wecom_userid").fill("ZhaoKeYuan")
    clerk.locator("#id_reach-dingtalk_userid").fill("manager4021")
    clerk.locator("#id_reach-quiet_start").fill("22:30")
    clerk.locator("#id_reach-quiet_end").fill("07:00")
    clerk.locator("#reach-save").click()
    expect(clerk.locator("ul.messages")).to_contain_text("已保存接收方式。")
    expect(clerk.locator("#id_reach-wecom_userid")).to_have_value("ZhaoKeYuan")
    expect(clerk.locator("#id_reach-quiet_start")).to_have_value("22:30")
    fits(clerk)
    screenshot(clerk, "reach-settings-390.png")

    admin = browsers.as_user("admin", "/settings/channels/", phone=True)
    expect(admin.locator("h1")).to_have_text("通知渠道")
    admin.locator("#channel-wecom a").click()
    admin.locator("#id_app_id").fill("ww7fa1a2b3c4d5e6f7")
    admin.locator("#id_agent_id").fill("1000005")
    admin.locator("#id_secret").fill("wecom-app-secret")
    admin.locator("#id_is_active").check()
    admin.locator("#channel-save").click()
    expect(admin.locator("ul.messages")).to_contain_text("已保存企业微信应用消息的设置。")
    expect(admin.locator("#channel-wecom")).to_contain_text("已启用")
    assert "wecom-app-secret" not in admin.content()
    fits(admin)
    screenshot(admin, "channel-settings-390.png")
