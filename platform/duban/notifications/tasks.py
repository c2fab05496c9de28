"""Celery side of the outbox: send one delivery; re-drive what is due in every county."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from duban.core.beat import fan_out
from duban.tasks import CountyTask, PlatformTask


@shared_task(base=CountyTask, name="duban.notifications.deliver")
def deliver(delivery_id: int) -> str:
    from duban.notifications.service import deliver_one

    return deliver_one(delivery_id)


@shared_task(base=PlatformTask, name="duban.notifications.fan_out_redrive")
def fan_out_redrive() -> int:
    return fan_out("outbox-redrive", settings.DUBAN_OUTBOX_REDRIVE_SECONDS, lambda county: redrive_county.delay())


@shared_task(base=CountyTask, name="duban.notifications.redrive_county")
def redrive_county() -> int:
    from duban.notifications.service import redrive

    return redrive()
