"""Who hears of what: small queries used by the actions that notify."""

from __future__ import annotations

from duban.accounts.models import Role, User


def unit_staff(units) -> list[User]:
    ids = [getattr(u, "pk", u) for u in units]
    return list(User.objects.filter(role=Role.UNIT_STAFF, unit_id__in=ids, is_active=True).order_by("id"))


def office_staff() -> list[User]:
    return list(User.objects.filter(role=Role.SUPERVISION_STAFF, is_active=True).order_by("id"))


def leaders() -> list[User]:
    return list(User.objects.filter(role__in=[Role.COUNTY_LEADER, Role.OFFICE_LEADER], is_active=True).order_by("id"))


def office_leaders() -> list[User]:
    return list(User.objects.filter(role=Role.OFFICE_LEADER, is_active=True).order_by("id"))


def county_leaders() -> list[User]:
    return list(User.objects.filter(role=Role.COUNTY_LEADER, is_active=True).order_by("id"))


def matter_leaders(matter) -> list[User]:
    """The leaders behind a matter: who proposed it and who approved it (立项), if still active."""
    ids = {matter.proposed_by_id, matter.approved_by_id} - {None}
    return list(User.objects.filter(pk__in=ids, role__in=[Role.COUNTY_LEADER, Role.OFFICE_LEADER], is_active=True)
                .order_by("id"))


def everyone() -> list[User]:
    return list(User.objects.filter(is_active=True, role__in=[Role.COUNTY_LEADER, Role.OFFICE_LEADER,
                                                               Role.SUPERVISION_STAFF, Role.UNIT_STAFF])
                .order_by("id"))


def matter_url(matter) -> str:
    return f"/matters/{matter.pk}/"
