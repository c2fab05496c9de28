"""Fetching matters through the acting user's rights.

"Missing" and "not yours" are the same answer (:class:`MatterNotFound`, HTTP 404), so nobody
learns that a matter exists from being refused it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from duban.accounts.models import Role
from duban.matters.models import Matter, ResultReport
from duban.matters.states import State

ALL_MATTERS_ROLES = (Role.SUPERVISION_STAFF, Role.OFFICE_LEADER, Role.COUNTY_ADMIN)
# Unit staff see a matter once it has been assigned to their unit.
UNIT_VISIBLE_STATES = (State.ASSIGNED, State.IN_PROGRESS, State.REPORTED, State.REDO, State.CLOSED, State.CANCELLED)


class MatterNotFound(LookupError):
    pass


def visible_matters(user) -> QuerySet[Matter]:
    qs = Matter.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in ALL_MATTERS_ROLES:
        return qs
    if user.role == Role.COUNTY_LEADER:
        return qs.filter(Q(proposed_by=user) | Q(approved_by=user))
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return qs.filter(units__unit_id=user.unit_id, state__in=UNIT_VISIBLE_STATES).distinct()
    return qs.none()


def access_matter_by_id(user, matter_id, *, for_update: bool = False) -> Matter:
    try:
        matter_id = int(matter_id)
    except (TypeError, ValueError):
        raise MatterNotFound(f"no matter {matter_id!r}") from None
    qs = visible_matters(user).filter(pk=matter_id)
    if for_update:
        # Lock the row itself (a visibility join cannot be locked FOR UPDATE with DISTINCT).
        if not qs.exists():
            raise MatterNotFound(f"no matter {matter_id}")
        return Matter.objects.select_for_update().get(pk=matter_id)
    matter = qs.first()
    if matter is None:
        raise MatterNotFound(f"no matter {matter_id}")
    return matter


def visible_reports(user, matter: Matter) -> QuerySet[ResultReport]:
    """Results a user may read: the assigning leader sees a result only once it is reviewed."""
    reports = matter.reports.all()
    if user.role == Role.COUNTY_LEADER:
        return reports.filter(review__isnull=False)
    return reports
