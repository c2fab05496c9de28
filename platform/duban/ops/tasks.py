"""Heartbeats: the beat fans out one task per active county; each runs in its county's schema."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import tenant_context

from duban.core.beat import claim_slot, current_slot
from duban.ops.models import Heartbeat, IdempotencyKey
from duban.tasks import CountyTask, PlatformTask
from tenants.models import County

KEEP = timedelta(days=2)


@shared_task(base=CountyTask, name="duban.ops.heartbeat")
def heartbeat(nonce: str, sent_at: str) -> str:
    """Record that this county's schema was reached by a worker. Idempotent on ``nonce``.
    Also forgets the county's expired API idempotency keys (api.idempotency)."""
    Heartbeat.objects.get_or_create(nonce=nonce, defaults={
        "schema_name": connection.schema_name,
        "worker": f"{socket.gethostname()}",
        "sent_at": parse_datetime(sent_at),
    })
    Heartbeat.objects.filter(received_at__lt=timezone.now() - KEEP).delete()
    IdempotencyKey.objects.filter(
        created__lt=timezone.now() - timedelta(hours=settings.DUBAN_IDEMPOTENCY_KEY_HOURS)).delete()
    return connection.schema_name


@shared_task(base=PlatformTask, name="duban.ops.fan_out_heartbeats")
def fan_out_heartbeats() -> int:
    """Send one heartbeat to every active county, once per time slot even if two beats run."""
    slot = current_slot(settings.DUBAN_HEARTBEAT_SECONDS)
    if not claim_slot("heartbeat", slot):
        return 0
    sent = 0
    now = timezone.now().isoformat()
    for county in County.objects.filter(status=County.Status.ACTIVE).only("id", "schema_name", "slug"):
        with tenant_context(county):
            heartbeat.delay(f"{slot:%Y%m%dT%H%M%S}-{county.slug}-{uuid.uuid4().hex[:8]}", now)
        sent += 1
    return sent
