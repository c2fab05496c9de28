"""Issue 18 point 11: a creating POST retried with the same ``Idempotency-Key`` returns the
first answer and does not act twice (a county office's flaky network, an integration's retry)."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from conftest import api_key
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, to_state

from api.idempotency import once
from duban.accounts.actions import do_create_user
from duban.accounts.models import Role, User
from duban.core.clock import as_of
from duban.matters.models import Matter
from duban.ops.models import IdempotencyKey
from duban.ops.tasks import heartbeat
from duban.supervision.models import EscalationStep

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-21")]

PROPOSAL = {"title": "推进老旧小区改造", "content": "年底前交付。", "category": "work_report",
            "proposed_units": ["D01"], "requested_deadline": "2099-12-31"}
PHONE = {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"}


def post(world, path, data, key=None, token=None):
    extra = {"HTTP_HOST": world.owner.host, "HTTP_AUTHORIZATION": f"Token {token or world.owner.token}"}
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return Client().post(f"/api/v1/{path}", data, content_type="application/json", **extra)


def matters_titled(world, title):
    with tenant_context(world.alpha):
        return Matter.objects.filter(title=title).count()


def test_a_retried_proposal_creates_one_matter_and_answers_the_same(world):
    data = dict(PROPOSAL, title="重试也只立一件")
    first = post(world, "matters/", data, key="c0ffee-1")
    assert first.status_code == 201, first.content.decode()
    again = post(world, "matters/", data, key="c0ffee-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert matters_titled(world, "重试也只立一件") == 1
    # Without the header every POST is a new proposal, as before.
    assert post(world, "matters/", data).status_code == 201
    assert matters_titled(world, "重试也只立一件") == 2


def test_the_same_key_with_another_body_is_a_422_naming_the_header(world):
    assert post(world, "matters/", dict(PROPOSAL, title="第一件"), key="k-422").status_code == 201
    other = post(world, "matters/", dict(PROPOSAL, title="第二件"), key="k-422")
    assert other.status_code == 422
    error = other.json()["error"]
    assert "Idempotency-Key" in error["fields"]
    assert matters_titled(world, "第二件") == 0


def test_keys_are_per_user(world):
    with tenant_context(world.alpha):
        leader = do_create_user("idem_leader", actor="tests", role=Role.COUNTY_LEADER, password="Long-enough-2026")
        token = api_key(leader)
    assert post(world, "matters/", dict(PROPOSAL, title="甲的"), key="shared").status_code == 201
    theirs = post(world, "matters/", dict(PROPOSAL, title="乙的"), key="shared", token=token)
    assert theirs.status_code == 201 and theirs.json()["title"] == "乙的"


def test_a_failed_request_is_not_remembered(world):
    bad = post(world, "matters/", dict(PROPOSAL, title=""), key="k-bad")
    assert bad.status_code == 400
    good = post(world, "matters/", dict(PROPOSAL, title=""), key="k-bad")
    assert good.status_code == 400  # tried again, not replayed from a record
    assert "Idempotent-Replayed" not in good


@pytest.mark.parametrize("key", ["", "x" * 256, "有中文"])
def test_a_malformed_key_is_a_400_naming_the_header(world, key):
    response = post(world, "matters/", dict(PROPOSAL, title="坏键"), key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert matters_titled(world, "坏键") == 0


def test_a_retried_step_records_one_step(world):
    with tenant_context(world.alpha):
        cast = make_cast()
        with as_of(date(2026, 9, 1)):
            matter = to_state(cast, "in_progress", deadline_working_days=10)
        before = EscalationStep.objects.filter(matter=matter).count()
    data = {"matter": matter.pk, "tier": "phone", "on": "2026-11-20", "reason": "临近期限", "evidence": PHONE}
    first = post(world, "steps/", data, key="step-1")
    assert first.status_code == 201, first.content.decode()
    again = post(world, "steps/", data, key="step-1")
    assert again.status_code == 201 and again.json() == first.json()
    with tenant_context(world.alpha):
        assert EscalationStep.objects.filter(matter=matter).count() == before + 1


def test_an_expired_key_acts_again(world, settings):
    data = dict(PROPOSAL, title="过期的键")
    assert post(world, "matters/", data, key="old").status_code == 201
    with tenant_context(world.alpha):
        IdempotencyKey.objects.filter(key="old").update(
            created=timezone.now() - timedelta(hours=settings.DUBAN_IDEMPOTENCY_KEY_HOURS + 1))
    assert post(world, "matters/", data, key="old").status_code == 201
    assert matters_titled(world, "过期的键") == 2


def test_expired_keys_are_purged_by_the_heartbeat(world, settings):

    assert post(world, "matters/", dict(PROPOSAL, title="清理"), key="purge-me").status_code == 201
    assert post(world, "matters/", dict(PROPOSAL, title="留着"), key="keep-me").status_code == 201
    with tenant_context(world.alpha):
        IdempotencyKey.objects.filter(key="purge-me").update(
            created=timezone.now() - timedelta(hours=settings.DUBAN_IDEMPOTENCY_KEY_HOURS + 1))
        heartbeat.run("purge-test", timezone.now().isoformat())
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["keep-me"]


def test_concurrent_duplicates_act_once(world):
    """Two copies of the same request at once (a double click through two connections): the
    unique (user, key) constraint makes the second wait for the first and answer the same."""

    with tenant_context(world.alpha):
        user = User.objects.get(username="staff")  # committed with the test world
    acted = []
    answers = {}
    first_inside = threading.Event()

    def act():
        acted.append(1)
        first_inside.set()
        threading.Event().wait(0.5)  # hold the first request's transaction open a while
        return 201, {"id": len(acted)}

    def send(name):
        try:
            with tenant_context(world.alpha):
                answers[name] = once(user, "dup-now", "POST /api/v1/matters/", "same-body", act)
        finally:
            connection.close()

    one = threading.Thread(target=send, args=("one",))
    one.start()
    assert first_inside.wait(10)
    two = threading.Thread(target=send, args=("two",))
    two.start()
    one.join()
    two.join()
    try:
        assert len(acted) == 1
        assert answers["one"] == (201, {"id": 1}, False)
        assert answers["two"] == (201, {"id": 1}, True)
    finally:
        def clean():
            try:
                with tenant_context(world.alpha):
                    IdempotencyKey.objects.filter(key="dup-now").delete()
            finally:
                connection.close()

        cleaner = threading.Thread(target=clean)
        cleaner.start()
        cleaner.join()


def test_the_schema_documents_the_header(world):
    schema = Client().get("/api/v1/schema/", {"format": "json"}, HTTP_HOST=world.owner.host,
                          HTTP_AUTHORIZATION=f"Token {world.owner.token}").json()
    for path in ("/api/v1/matters/", "/api/v1/steps/", "/api/v1/matters/{id}/feedback/"):
        params = schema["paths"][path]["post"].get("parameters", [])
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params), path
