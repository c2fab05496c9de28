"""The Content-Security-Policy on the standalone pages a browser test cannot easily reach: the 503
page the database's loss answers with (duban.core.dbdown) and the suspended county's page. They
cannot count on /static/ (the database, or the county, is what is missing), so their <style>
carries the request's nonce — which must then be the one the header names, or the browser refuses
it. The browser suite (tests/test_browser.py) covers every other page, in Chromium."""

from __future__ import annotations

import re

from django.test import Client, RequestFactory

from tenants import provisioning


def inline_elements_outside_the_policy(response) -> list[str]:
    """The inline <style>/<script> elements of the page whose nonce the header does not name, and
    any style="" or on…="" attribute (never allowed: no 'unsafe-inline', no 'unsafe-hashes')."""
    header = response["Content-Security-Policy"]
    nonces = set(re.findall(r"'nonce-([^']+)'", header))
    page = response.content.decode()
    refused = []
    for tag, attributes in re.findall(r"<(style|script)\b([^>]*)>", page):
        if tag == "script" and ("src=" in attributes or 'type="application/json"' in attributes):
            continue
        nonce = re.search(r'\bnonce="([^"]*)"', attributes)
        if nonce is None or nonce.group(1) not in nonces:
            refused.append(f"<{tag}{attributes}>")
    refused += re.findall(r'<[a-z]+\b[^>]*\s(?:style|on[a-z]+)="[^"]*"', page)
    return refused


def test_the_503_page_carries_the_policy_and_its_style_the_nonce_it_names():
    # Imported here: these are the pieces under test, put together as MIDDLEWARE does.
    from csp.middleware import CSPMiddleware

    from duban.core.dbdown import unavailable_response

    request = RequestFactory().get("/matters/new/")
    response = CSPMiddleware(unavailable_response)(request)
    assert response.status_code == 503 and "服务暂时不可用" in response.content.decode()
    assert "style-src 'self' 'nonce-" in response["Content-Security-Policy"]
    assert inline_elements_outside_the_policy(response) == []


def test_the_suspended_county_page_carries_the_policy_and_its_style_the_nonce_it_names(world):
    provisioning.set_status("beta", "suspended", actor="tests", reason="合同到期")
    try:
        page = Client().get("/", HTTP_HOST=world.outsider.host)
        assert page.status_code == 403 and "已暂停服务" in page.content.decode()
        assert "default-src 'self'" in page["Content-Security-Policy"]
        assert inline_elements_outside_the_policy(page) == []
    finally:
        provisioning.set_status("beta", "active", actor="tests")


def test_an_unknown_host_is_answered_under_the_policy(db):
    response = Client().get("/login/", HTTP_HOST="nowhere.localhost")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
