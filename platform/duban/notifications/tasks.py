"""Celery side of the outbox: send one delivery; re-drive what is due in every county."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django_tenants.utils import tenant_context

from duban.core.beat import claim_slot, current_slot
from duban.tasks import CountyTask, PlatformTask


@shared_task(base=CountyTask, name="duban.notifications.deliver")
def deliver(delivery_id: int) -> str:
    from duban.notifications.service import deliver_one

    return deliver_one(delivery_id)


@shared_task(base=PlatformTask, name="duban.notifications.fan_out_redrive")
def fan_out_redrive() -> int:
    from tenants.models import County

    if not claim_slot("outbox-redrive", current_slot(settings.DUBAN_OUTBOX_REDRIVE_SECONDS)):
        return 0
    sent = 0
    for county in County.objects.filter(status=County.Status.ACTIVE).only("id", "schema_name", "slug"):
        with tenant_context(county):
            redrive_county.delay()
        sent += 1
    return sent


@shared_task(base=CountyTask, name="duban.notifications.redrive_county")
def redrive_county() -> int:
    from duban.notifications.service import redrive

    return redrive()
