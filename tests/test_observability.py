"""Sentry starts only with SENTRY_DSN, without PII, with Django and Celery, tagging the county."""

import json
import subprocess
import sys

import pytest
from conftest import REPO, subprocess_env
from django_tenants.utils import tenant_context

from duban.observability import tag_event_with_county

PROBE = """
import json, sentry_sdk, django
django.setup()
client = sentry_sdk.get_client()
print(json.dumps({"active": client.is_active(),
                  "pii": client.options.get("send_default_pii") if client.is_active() else None,
                  "bodies": client.options.get("max_request_body_size") if client.is_active() else None,
                  "locals": client.options.get("include_local_variables") if client.is_active() else None,
                  "integrations": sorted(getattr(client, "integrations", {}).keys())}))
"""


def probe(**env):
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=subprocess_env(**env),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sentry_off_without_dsn():
    assert probe()["active"] is False


def test_sentry_on_with_dsn_without_pii():
    state = probe(SENTRY_DSN="https://public@sentry.invalid/1")
    assert state["active"] is True and state["pii"] is False
    assert state["bodies"] == "never" and state["locals"] is False  # a matter's text stays home
    assert {"django", "celery"} <= set(state["integrations"])


@pytest.mark.django_db
def test_every_event_is_tagged_with_the_county(world):
    with tenant_context(world.alpha):
        assert tag_event_with_county({})["tags"]["county"] == "alpha"
    assert tag_event_with_county({})["tags"]["county"] == "public"
    assert tag_event_with_county({"tags": {"county": "x"}})["tags"]["county"] == "x"
