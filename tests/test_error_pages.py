"""The house's error pages (issue 20 point 3): 404, 403, 500 and the CSRF failure, in Chinese and
in the site's own layout, on a county's host and on the public host; with DEBUG on (``make
demo``) a clerk opening another unit's matter still sees the house 404, never Django's
technical page. The 500 page renders without the database.

Requests go through Django's test client with the host's Header. The 403 and 500 pages are
reached through test-only URL configurations: the real ones (``duban.urls``,
``duban.urls_public``, their handlers included) plus ``/test-forbidden/`` and ``/test-boom/``.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.urls import path
from django.utils import translation
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, to_state

import duban.urls
import duban.urls_public
import duban.web
from duban.web import shortcuts

pytestmark = pytest.mark.django_db

FAVICON = "/static/web/favicon.svg"


def forbidden(request):
    raise PermissionDenied("test")


def boom(request):
    raise RuntimeError("a bug")


def _urlconf(name: str, real) -> str:
    """A module ``name``: ``real``'s patterns and handlers, plus the two test URLs."""
    module = types.ModuleType(name)
    module.urlpatterns = [path("test-forbidden/", forbidden), path("test-boom/", boom), *real.urlpatterns]
    for handler in ("handler403", "handler404", "handler500"):
        setattr(module, handler, getattr(real, handler))
    sys.modules[name] = module
    return name


@pytest.fixture
def test_urls():
    with override_settings(ROOT_URLCONF=_urlconf("error_pages_county_urls", duban.urls),
                           PUBLIC_SCHEMA_URLCONF=_urlconf("error_pages_public_urls", duban.urls_public)):
        yield


def hosts(world) -> dict[str, str]:
    return {"county": world.owner.host, "public": settings.DUBAN_BASE_DOMAIN}


def page(response, status: int) -> str:
    assert response.status_code == status, response.content.decode()[:2000]
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert '<html lang="zh-CN">' in body
    assert 'name="viewport"' in body  # phone-sized
    assert FAVICON in body
    return body


def client(**kwargs) -> Client:
    return Client(raise_request_exception=False, **kwargs)


# --- 404 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["county", "public"])
def test_a_missing_page_is_the_house_404(world, where):
    body = page(client().get("/no-such-page/", HTTP_HOST=hosts(world)[where]), 404)
    assert "页面不存在" in body and "返回首页" in body
    assert "督查督办" in body  # the site's own layout (web/base.html)


def test_a_clerk_opening_another_units_matter_sees_the_house_404_with_debug_on(world):
    with tenant_context(world.alpha):
        cast = make_cast()
        matter = to_state(cast, "in_progress")
        other = client()
        other.force_login(cast.other_clerk)  # the session lives in the county's schema
    with override_settings(DEBUG=True):
        response = other.get(f"/matters/{matter.pk}/", HTTP_HOST=world.owner.host)
        missing = other.get("/matters/999999/", HTTP_HOST=world.owner.host)
    for answer in (response, missing):
        body = page(answer, 404)
        assert "页面不存在" in body
        assert "Page not found" not in body and "technical_404" not in body and "Raised by" not in body


# --- 403 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["county", "public"])
def test_a_refusal_is_the_house_403(world, test_urls, where):
    body = page(client().get("/test-forbidden/", HTTP_HOST=hosts(world)[where]), 403)
    assert "无权操作" in body and "返回首页" in body


# --- CSRF --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["county", "public"])
def test_a_form_without_its_csrf_token_gets_the_house_page(world, where):
    response = client(enforce_csrf_checks=True).post("/login/", {"username": "staff", "password": "x"},
                                                      HTTP_HOST=hosts(world)[where])
    body = page(response, 403)
    assert "页面已过期" in body and "刷新" in body
    assert "CSRF verification failed" not in body


# --- 500 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["county", "public"])
def test_a_bug_is_the_house_500(world, test_urls, where):
    body = page(client().get("/test-boom/", HTTP_HOST=hosts(world)[where]), 500)
    assert "系统出错了" in body and "请稍后重试" in body
    assert "RuntimeError" not in body and "a bug" not in body


def test_the_500_page_renders_without_the_database(django_assert_num_queries):
    request = RequestFactory().get("/", HTTP_HOST=settings.DUBAN_BASE_DOMAIN)
    with django_assert_num_queries(0):
        response = shortcuts.server_error(request)
    assert response.status_code == 500
    assert "系统出错了" in response.content.decode()


# --- first run: the language of the page, the favicon --------------------------------------------------
def test_the_favicon_is_ours_and_linked(world):
    body = client().get("/login/", HTTP_HOST=world.owner.host).content.decode()
    assert f'<link rel="icon" href="{FAVICON}" type="image/svg+xml">' in body
    svg = (Path(duban.web.__file__).parent / "static" / "web" / "favicon.svg").read_text()
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg


def test_the_page_language_is_english_when_the_user_chose_english(world):
    english = client()
    try:
        english.post("/i18n/setlang/", {"language": "en", "next": "/login/"}, HTTP_HOST=world.owner.host)
        body = english.get("/no-such-page/", HTTP_HOST=world.owner.host).content.decode()
    finally:
        translation.deactivate()  # the request left English active on this thread: not for the next test
    assert '<html lang="en">' in body
