"""Celery on tenant-schemas-celery: the county travels with every message, in a real worker."""

import uuid

import pytest
from conftest import wait_until
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from duban.ops.tasks import fan_out_heartbeats, heartbeat
from duban.tasks import CountyNotFound, WrongSchema

pytestmark = [pytest.mark.django_db, pytest.mark.worker]


def heartbeat_in(schema: str, nonce: str):
    from duban.ops.models import Heartbeat

    with schema_context(schema):
        return Heartbeat.objects.filter(nonce=nonce).values_list("schema_name", flat=True).first()


@pytest.mark.smoke
def test_task_runs_in_the_schema_it_was_sent_for(world, celery_worker_process):
    nonces = {}
    for county in (world.alpha, world.beta):
        nonce = uuid.uuid4().hex
        with tenant_context(county):
            heartbeat.delay(nonce, timezone.now().isoformat())
        nonces[county.schema_name] = nonce
    for schema, nonce in nonces.items():
        assert wait_until(lambda schema=schema, nonce=nonce: heartbeat_in(schema, nonce), timeout=60) == schema
    # Each heartbeat landed in its own county only.
    assert heartbeat_in(world.beta.schema_name, nonces[world.alpha.schema_name]) is None
    assert heartbeat_in(world.alpha.schema_name, nonces[world.beta.schema_name]) is None


def test_task_for_a_county_that_does_not_exist_fails_loudly(world, celery_worker_process):
    nonce = uuid.uuid4().hex
    heartbeat.apply_async((nonce, timezone.now().isoformat()), headers={"_schema_name": "county_ghost"})
    assert wait_until(lambda: "county_ghost" in celery_worker_process.log() and
                      "CountyNotFound" in celery_worker_process.log(), timeout=60)
    for county in (world.alpha, world.beta):
        assert heartbeat_in(county.schema_name, nonce) is None


def test_guard_in_process_for_unknown_public_and_wrong_schema(world):
    # Eager runs go through the same signals and the same guard as the worker.
    result = heartbeat.apply(("n1", timezone.now().isoformat()), headers={"_schema_name": "county_ghost"})
    assert isinstance(result.result, CountyNotFound)
    result = heartbeat.apply(("n2", timezone.now().isoformat()))  # sent from public
    assert isinstance(result.result, CountyNotFound) and "without one" in str(result.result)
    with tenant_context(world.alpha):
        result = fan_out_heartbeats.apply()
    assert isinstance(result.result, WrongSchema)


def test_task_options_are_safe_for_killed_workers():
    from duban.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert heartbeat.name == "duban.ops.heartbeat"
    assert fan_out_heartbeats.name == "duban.ops.fan_out_heartbeats"


def test_fan_out_runs_once_per_slot_even_with_two_beats(world, celery_worker_process):
    from duban.core.beat import claim_slot, current_slot
    from duban.ops.models import Heartbeat

    slot = current_slot(3600, timezone.now() + timezone.timedelta(days=3650))
    assert claim_slot("test-job", slot) is True
    assert claim_slot("test-job", slot) is False
    before = {}
    for county in (world.alpha, world.beta):
        with schema_context(county.schema_name):
            before[county.schema_name] = Heartbeat.objects.count()
    first = fan_out_heartbeats.apply().result
    second = fan_out_heartbeats.apply().result
    assert sorted([first, second]) == [0, 2] or (first == 0 and second == 0)
    if first or second:
        for county in (world.alpha, world.beta):
            assert wait_until(lambda county=county: _count(county.schema_name) == before[county.schema_name] + 1,
                              timeout=60)


def _count(schema):
    from duban.ops.models import Heartbeat

    with schema_context(schema):
        return Heartbeat.objects.count()


def test_the_file_broker_writes_nothing_outside_its_folder(world, celery_worker_process):
    from conftest import REPO

    assert not (REPO / "control").exists()
    assert not (REPO / "queue").exists()
