"""Single sign-on in a real browser (issue 22 point 1): a county clerk opens the county's login
page, chooses 统一身份认证登录, signs in on the province's provider (the `oidc-provider` npm package,
tests/oidc/provider.mjs), consents, and lands on their own start page — at 1366 and 390 pixels wide.

Infrastructure as tests/test_browser.py (browser_helpers: a live server, a committed county built on
threads of its own; the CSP recorder). The provider is registered for the live server's port.
Screenshots: sso-login-{1366,390}.png (our login page with the button), sso-provider-{1366,390}.png
(the provider's sign-in page), sso-home-{1366,390}.png (signed in), sso-settings-1366.png (the county
admin's page).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from browser_helpers import LiveServer, Site, build_county, drop_county, login, new_context, screenshot
from oidc_helpers import OidcProvider
from playwright.sync_api import expect
from test_browser import CspWatch, chromium  # noqa: F401 (chromium: a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SLUG = "ssobrowser"
IDP_PASSWORD = "Idp-pass-2026"
SECRET = "browser-client-secret-Qm7r2Xv9"


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        schema = build_county(SLUG)
        server = LiveServer().start()
        base = server.url(SLUG)
        provider = OidcProvider(
            [{"client_id": "duban-browser", "client_secret": SECRET, "redirect_uris": [base + "login/sso/callback/"],
              "post_logout_redirect_uris": [base + "login/"]}],
            {"zhou": {"password": IDP_PASSWORD, "amr": ["pwd"],
                      "claims": {"preferred_username": "zhou", "name": "周科员", "groups": ["县发改局"]}}}).start()
        try:
            site = Site(SLUG, schema, server, facts={"idp": provider})
            site.run(lambda: _configure(provider.issuer))
            yield site
        finally:
            provider.stop()
            server.stop()
            drop_county(SLUG)


def _configure(issuer):
    from duban.accounts.models import User
    from duban.identity.actions import do_configure_sso, do_link_sso_subject, do_set_sso_mapping

    do_configure_sso(actor="tests", issuer=issuer, client_id="duban-browser", client_secret=SECRET,
                     scopes="openid profile groups", username_claim="preferred_username", role_claim="groups")
    do_set_sso_mapping(actor="tests", claim_value="县发改局", role="unit_staff", unit_code="D01")
    do_link_sso_subject(User.objects.get(username="clerk"), actor="tests", subject="zhou")


def _ours(problems: list[str], site) -> list[str]:
    """CSP problems of our pages (the provider's pages are not ours to police)."""
    return [p for p in problems if urlsplit(p.split(" ", 1)[0].rstrip(":")).netloc.startswith(f"{SLUG}.")]


@pytest.mark.parametrize("width", [1366, 390])
def test_a_clerk_signs_in_through_the_provider(site, chromium, width):  # noqa: F811
    phone = width == 390
    context = new_context(chromium, phone=phone)
    watch = CspWatch(context)
    try:
        page = context.new_page()
        if not phone:
            page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(site.url("/todo/"))
        expect(page).to_have_url(re.compile(r"/login/"))
        button = page.get_by_role("link", name="统一身份认证登录")
        expect(button).to_be_visible()
        screenshot(page, f"sso-login-{width}.png")
        button.click()
        expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/interaction/"))
        page.locator("#login").fill("zhou")
        page.locator("#password").fill(IDP_PASSWORD)
        screenshot(page, f"sso-provider-{width}.png")
        page.get_by_role("button", name="登录").click()
        page.get_by_role("button", name="同意").click()
        expect(page).to_have_url(site.url("/todo/"))
        expect(page.locator(".who")).to_contain_text("赵科员")
        expect(page.locator(".who-role")).to_contain_text("承办单位人员")
        screenshot(page, f"sso-home-{width}.png")
        if phone:
            page.locator(".nav-toggle").click()
        page.locator("form.logout-form button").first.click()
        expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/session/end"))  # signing out there too
        assert _ours(watch.problems(), site) == []
    finally:
        context.close()


def test_the_county_admins_page(site, chromium):  # noqa: F811
    context = new_context(chromium)
    watch = CspWatch(context)
    try:
        page = context.new_page()
        page.set_viewport_size({"width": 1366, "height": 900})
        login(page, site, "admin", then="/settings/sso/")
        expect(page.get_by_role("heading", name="统一身份认证", exact=True)).to_be_visible()
        expect(page.locator("[data-secret-state]")).to_have_text("已设置")
        expect(page.locator("[data-callback-uri]")).to_have_text(site.url("/login/sso/callback/"))
        assert SECRET not in page.content()
        screenshot(page, "sso-settings-1366.png")
        assert _ours(watch.problems(), site) == []
    finally:
        context.close()
