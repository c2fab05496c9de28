"""The comparison's one write: the reference pack a city rescores its counties under. The web's
city portal, the API and ``duban city refresh --reference-pack`` all call it."""

from __future__ import annotations

from django.db import transaction

from duban.audit import log as audit
from duban.comparison.models import CityComparisonSettings
from duban.comparison.signals import schedule_refresh
from duban.core.actions import action
from duban.core.errors import Invalid
from tenants import provisioning


@action
def do_set_reference_pack(city, requested: str, *, actor) -> CityComparisonSettings:
    """Choose the city's reference pack (audited). Snapshots say which pack they were rescored
    under; the city's counties are refreshed (one task each, on commit)."""
    try:
        name, version = provisioning.resolve_rulepack(requested)
    except provisioning.ProvisioningError as exc:
        raise Invalid(str(exc), field="reference_pack") from None
    chosen, _created = CityComparisonSettings.objects.select_for_update().get_or_create(
        city=city, defaults={"reference_pack_name": name, "reference_pack_version": version, "set_by": str(actor)})
    before = chosen.reference_pack
    chosen.reference_pack_name, chosen.reference_pack_version, chosen.set_by = name, version, str(actor)
    chosen.save()
    audit.record(actor=actor, action="city.reference_pack", obj=city,
                 before={"reference_pack": before}, after={"reference_pack": chosen.reference_pack})
    transaction.on_commit(lambda: _refresh_city(city))
    return chosen


def _refresh_city(city) -> None:
    for county in city.counties.filter(status="active"):
        schedule_refresh(county)
