"""Temporary visual check of the matter pages (U2); deleted after use."""
import os, re
import pytest
from django.db import connections
from browser_helpers import (LiveServer, Site, build_county, launch_chromium, login, new_context, walk_matter,
                             overdue_matter_with_phone_step)

pytestmark = [pytest.mark.django_db]
OUT = "/tmp/u2shots"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        schema = build_county("u2look")
        server = LiveServer().start()
        try:
            site = Site("u2look", schema, server)
            site.facts["overdue"] = site.run(lambda: overdue_matter_with_phone_step("整治城区违规占道经营"))
            site.facts["approved"] = site.run(lambda: walk_matter("城关片区老旧小区改造", "approved"))
            site.facts["reported"] = site.run(lambda: walk_matter("农村公路养护提升", "reported"))
            site.facts["progress"] = site.run(lambda: walk_matter("招商引资项目落地", "in_progress", deadline_working_days=3))
            yield site
        finally:
            server.stop()


def test_look(site):
    from playwright.sync_api import sync_playwright
    os.makedirs(OUT, exist_ok=True)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            for phone in (False, True):
                ctx = new_context(browser, phone=phone)
                page = ctx.new_page()
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                tag = "phone" if phone else "desk"
                login(page, site, "staff")
                for path, name in (("/todo/", "todo"), ("/board/", "board"), ("/matters/", "list"),
                                   ("/register/", "register"), ("/plan/", "plan"), ("/matters/new/", "new")):
                    page.goto(site.url(path))
                    page.screenshot(path=f"{OUT}/{tag}-{name}.png", full_page=True)
                mid = site.facts["approved"]
                page.goto(site.url(f"/matters/{mid}/"))
                page.screenshot(path=f"{OUT}/{tag}-detail-approved.png", full_page=True)
                if not phone:
                    # htmx: bad assign → the box is swapped with the error, the page stays
                    page.get_by_label("办理要求", exact=True).fill("按期办结")
                    page.get_by_label("牵头单位", exact=True).select_option("")
                    page.get_by_role("button", name="交办").click()
                    page.wait_for_selector("#assign-lead_unit-error")
                    print("ERR:", page.inner_text("#assign-lead_unit-error"), page.url)
                    page.screenshot(path=f"{OUT}/{tag}-detail-assign-error.png", full_page=True)
                    page.get_by_label("牵头单位", exact=True).select_option("D01")
                    page.get_by_role("button", name="交办").click()
                    page.wait_for_selector(".message.success")
                    print("MSG:", page.inner_text(".messages"))
                    page.screenshot(path=f"{OUT}/{tag}-detail-assigned.png", full_page=True)
                page.goto(site.url(f"/matters/{site.facts['progress']}/"))
                page.screenshot(path=f"{OUT}/{tag}-detail-progress.png", full_page=True)
                print(tag, "JS errors:", errors)
                ctx.close()
            # office leader: send back via htmx
            ctx = new_context(browser)
            page = ctx.new_page()
            login(page, site, "office", then=f"/matters/{site.facts['reported']}/")
            page.get_by_role("button", name="退回复办").click()
            page.wait_for_selector("#send_back-reasons-error")
            print("ERR2:", page.inner_text("#send_back-reasons-error"))
            page.get_by_label("退回理由").fill("缺少验收材料")
            page.get_by_role("button", name="退回复办").click()
            page.wait_for_selector(".message.success")
            page.screenshot(path=f"{OUT}/office-sent-back.png", full_page=True)
            print("state:", page.inner_text("#matter-state"))
            ctx.close()
        finally:
            browser.close()
            connections.close_all()
