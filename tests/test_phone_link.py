"""Issue 22 point 3: the short link a notice carries (``/m/<code>``) opens the matter after the
county's login. Django's test client on the county hosts: anonymous → the login page with
``next`` → the matter; the recipient's open is recorded (read, audited); a colleague who may not
see the matter gets the usual answer for it; county A's link on county B's host is not found; an
expired link says so in Chinese. The journey in a phone-sized browser is
tests/test_browser_phone_link.py."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from matter_helpers import PASSWORD, make_cast, to_state

from duban.audit.models import AuditEvent
from duban.notifications import reach
from duban.notifications.models import Notification, PhoneLink
from tenants.provisioning import county_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def host(county) -> str:
    return f"{county.slug}.{settings.DUBAN_BASE_DOMAIN}"


def assigned_link(cast):
    matter = to_state(cast, "assigned")
    note = Notification.objects.get(recipient=cast.lead_clerk, matter=matter, event="matter.assigned")
    return matter, note, reach.make_link(note)


def test_the_link_is_short_random_and_names_the_countys_host(world, cast):
    _matter, note, link = assigned_link(cast)
    url = reach.link_url(link)
    assert url == f"{county_url(world.alpha)}m/{link.code}"
    assert urlsplit(url).hostname == f"alpha.{settings.DUBAN_BASE_DOMAIN}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", link.code)
    assert reach.make_link(note) == link  # one per notice
    days = (link.expires_at - link.created_at).total_seconds() / 86400
    assert abs(days - settings.DUBAN_PHONE_LINK_DAYS) < 0.01
    others = {reach.new_code() for _ in range(200)}
    assert len(others) == 200 and link.code not in others


def test_anonymous_goes_to_the_login_then_to_the_matter(world, cast):
    matter, note, link = assigned_link(cast)
    phone = Client(HTTP_HOST=host(world.alpha))
    first = phone.get(f"/m/{link.code}")
    assert first.status_code == 302
    target = urlsplit(first["Location"])
    assert target.path == settings.LOGIN_URL and target.query == f"next=/m/{link.code}"
    login = phone.post(f"{settings.LOGIN_URL}?next=/m/{link.code}",
                       {"username": "clerk", "password": PASSWORD, "next": f"/m/{link.code}"})
    assert login.status_code == 302 and login["Location"] == f"/m/{link.code}"
    opened = phone.get(login["Location"])
    assert opened.status_code == 302 and opened["Location"] == f"/matters/{matter.pk}/"
    page = phone.get(opened["Location"])
    assert page.status_code == 200 and matter.title in page.content.decode()
    note.refresh_from_db()
    link.refresh_from_db()
    assert note.read_at is not None and link.opened_at is not None
    assert AuditEvent.objects.filter(action="notification.link_opened", object_id=str(note.pk),
                                     actor=cast.lead_clerk).exists()


def test_someone_who_may_not_see_the_matter_gets_the_usual_answer(world, cast):
    matter, note, link = assigned_link(cast)
    outsider = Client(HTTP_HOST=host(world.alpha))
    outsider.force_login(cast.other_clerk)  # unit staff of T99, which the matter is not assigned to
    opened = outsider.get(f"/m/{link.code}")
    assert opened.status_code == 302 and opened["Location"] == f"/matters/{matter.pk}/"
    refused = outsider.get(opened["Location"])
    assert refused.status_code == 404 and "不在您的查看范围内" in refused.content.decode()
    note.refresh_from_db()
    assert note.read_at is None  # not theirs: nothing recorded
    assert PhoneLink.objects.get(pk=link.pk).opened_at is None


def test_county_a_link_on_county_b_host_is_not_found(world, cast):
    _matter, _note, link = assigned_link(cast)
    for client in (Client(HTTP_HOST=host(world.beta)), Client(HTTP_HOST=settings.DUBAN_BASE_DOMAIN)):
        answer = client.get(f"/m/{link.code}")
        assert answer.status_code == 404
        assert "/login/" not in answer.get("Location", "")
    assert Client(HTTP_HOST=host(world.alpha)).get("/m/NoSuchCode12").status_code == 404


def test_an_expired_link_says_so_in_chinese(world, cast):
    _matter, _note, link = assigned_link(cast)
    PhoneLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    anonymous = Client(HTTP_HOST=host(world.alpha))
    answer = anonymous.get(f"/m/{link.code}")
    text = answer.content.decode()
    assert answer.status_code == 410
    assert "链接已过期" in text and f"{settings.DUBAN_PHONE_LINK_DAYS} 天内有效" in text and "登录后查看通知" in text
    signed_in = Client(HTTP_HOST=host(world.alpha))
    signed_in.force_login(cast.lead_clerk)
    assert signed_in.get(f"/m/{link.code}").status_code == 410
