"""/healthz and /readyz on every host."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "beta.localhost"])
def test_healthz_and_readyz_on_every_host(world, host):
    assert Client().get("/healthz", HTTP_HOST=host).json() == {"status": "ok"}
    ready = Client().get("/readyz", HTTP_HOST=host)
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(world, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    ready = Client().get("/readyz", HTTP_HOST="alpha.localhost")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"


def test_readyz_reports_the_county_heartbeat(world):
    body = Client().get("/readyz", HTTP_HOST="alpha.localhost").json()
    assert body["county"] == "alpha"
    assert "last_worker_heartbeat_seconds" in body
