"""A connection that has served more than DATABASE_CONN_MAX_SCHEMAS county schemas is replaced by
a fresh one at the end of its request, its task or its county in a loop (duban.core.connections)
— which bounds what every PostgreSQL backend holds.

The checks run in a subprocess: there the connection is a real one, outside the test's
transaction (inside a transaction a connection is never closed, and the bound says so too)."""

import json
import subprocess
import sys

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from duban.core import connections as bound
from tests.conftest import REPO, subprocess_env

pytestmark = pytest.mark.django_db

SCRIPT = r"""
import json, sys
import django
django.setup()
from celery.signals import task_postrun
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, tenant_context
from duban.accounts.models import User
from duban.core import connections
from tenants.models import County

plan = json.loads(sys.argv[1])

def pid():
    return connection.connection.info.backend_pid if connection.connection is not None else None

out = {"requests": [], "task": [], "loop": []}
client = Client()
for host, token in plan["requests"]:
    response = client.get("/api/v1/matters/", HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {token}")
    out["requests"].append([response.status_code, pid(), sorted(connection.schemas_visited)])

# A worker: two county tasks' worth of queries, then Celery's task_postrun.
connection.close()
connection.set_schema_to_public()  # the last request left its county selected
for schema in plan["schemas"]:
    with schema_context(schema):
        User.objects.count()
    task_postrun.send(sender=None, task_id="t", task=None, args=(), kwargs={}, retval=None, state="SUCCESS")
    out["task"].append(pid())

# A loop over counties in one process (the refresh, `duban sweep`).
connection.close()
connection.set_schema_to_public()
counties = list(County.objects.filter(schema_name__in=plan["schemas"]).order_by("slug"))
for county in connections.bounded(counties + counties[:1]):
    with tenant_context(county):
        User.objects.count()
    out["loop"].append(pid())
out["released"] = connections.released
print(json.dumps(out))
"""


def run(limit: int, world) -> dict:
    alpha, beta = world.owner, world.outsider
    plan = {"requests": [(alpha.host, alpha.token), (alpha.host, alpha.token), (beta.host, beta.token),
                         (beta.host, beta.token)],
            "schemas": [world.alpha.schema_name, world.beta.schema_name]}
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(plan)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=subprocess_env(DATABASE_CONN_MAX_SCHEMAS=str(limit)))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_connection_is_replaced_after_the_request_that_takes_it_past_the_bound(world):
    out = run(1, world)
    (s1, pid1, seen1), (s2, pid2, _), (s3, pid3, seen3), (s4, pid4, seen4) = out["requests"]
    assert (s1, s2, s3, s4) == (200, 200, 200, 200)
    assert seen1 == [world.alpha.schema_name] and pid1 is not None
    assert pid2 == pid1, "one county's second request keeps its connection"
    assert pid3 not in (None, pid1), "the request that made it two counties ended its backend and opened another"
    assert seen3 == [] and seen4 == [world.beta.schema_name]
    assert pid4 == pid3, "the next request found the fresh backend waiting"
    # A worker: replaced after the task that made it two counties; a loop: between two counties.
    assert out["task"][0] is not None and out["task"][1] not in (None, out["task"][0])
    first, second, third = out["loop"]  # each read inside the loop's body, before the release
    assert first is not None and second == first and third not in (None, first)
    assert out["released"] == 3


def test_no_bound_keeps_the_connection(world):
    out = run(0, world)
    pids = {pid for _status, pid, _seen in out["requests"]}
    assert len(pids) == 1 and None not in pids
    assert None not in out["task"] and None not in out["loop"] and out["released"] == 0


def test_a_connection_inside_a_transaction_is_never_closed(world, settings):
    settings.DATABASE_CONN_MAX_SCHEMAS = 1
    with transaction.atomic():
        for county in (world.alpha, world.beta):
            with schema_context(county.schema_name), connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        assert len(connection.schemas_visited) >= 2
        assert bound.release_if_spread() == 0
        assert connection.connection is not None
