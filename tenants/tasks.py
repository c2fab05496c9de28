"""Platform upkeep of the tenants: the pool of spare county schemas (tenants.spares)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from duban.core.beat import claim_slot, current_slot
from duban.tasks import PlatformTask
from tenants import spares


@shared_task(base=PlatformTask, name="duban.tenants.refill_spares")
def refill_spares() -> int:
    """Bring the pool of spare schemas back to DUBAN_SPARE_SCHEMAS, once per slot however many
    beats run, where the workers connect as the template's owner. Returns how many were cloned."""
    if not settings.DUBAN_SPARE_SCHEMAS:
        return 0
    if not spares.owns_template():
        # The usual production set-up: workers connect as the app role, which may not make
        # schemas; the migrations Job and `duban county create` refill the pool as the owner.
        return 0
    if not claim_slot("spares", current_slot(settings.DUBAN_SPARE_REFILL_SECONDS)):
        return 0
    return len(spares.refill(actor="beat").created)
