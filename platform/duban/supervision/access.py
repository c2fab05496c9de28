"""What each user may see of the supervision records (steps, ledger, circulars, inspections).

As for matters: missing and not yours are the same answer (``NotFound``, HTTP 404).
Office roles see the whole county; a county leader sees the steps of the matters they proposed
or approved and every score; unit staff see only their own unit's rows.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.core.errors import NotFound
from duban.matters.access import ALL_MATTERS_ROLES, visible_matters
from duban.supervision.models import Circular, EscalationStep, InspectionItem, InspectionRound, LedgerEntry
from duban.units.models import Unit

__all__ = ["NotFound", "visible_steps", "visible_ledger", "visible_circulars", "visible_inspection_rounds",
           "visible_inspection_items", "visible_units", "statement_units"]

# Who reads every unit's scores and ledger.
SCORE_READERS = (*ALL_MATTERS_ROLES, Role.COUNTY_LEADER)


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def visible_steps(user) -> QuerySet[EscalationStep]:
    qs = EscalationStep.objects.all()
    if not _active(user):
        return qs.none()
    if user.role in ALL_MATTERS_ROLES:
        return qs
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return qs.filter(unit_id=user.unit_id, matter__in=visible_matters(user).values("pk"))
    if user.role == Role.COUNTY_LEADER:
        return qs.filter(matter__in=visible_matters(user).values("pk"))
    return qs.none()


def visible_ledger(user) -> QuerySet[LedgerEntry]:
    qs = LedgerEntry.objects.all()
    if not _active(user):
        return qs.none()
    if user.role in SCORE_READERS:
        return qs
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return qs.filter(unit_id=user.unit_id)
    return qs.none()


def visible_circulars(user) -> QuerySet[Circular]:
    qs = Circular.objects.all()
    if not _active(user):
        return qs.none()
    if user.role in ALL_MATTERS_ROLES:
        return qs
    return qs.filter(status=Circular.Status.PUBLISHED)


def visible_inspection_rounds(user) -> QuerySet[InspectionRound]:
    qs = InspectionRound.objects.all()
    if not _active(user):
        return qs.none()
    if user.role in ALL_MATTERS_ROLES:
        return qs
    if user.role == Role.COUNTY_LEADER:  # 五(一): the results are reported to the county leaders
        return qs.filter(reported_at__isnull=False)
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return qs.filter(items__unit_id=user.unit_id).distinct()
    return qs.none()


def visible_inspection_items(user) -> QuerySet[InspectionItem]:
    qs = InspectionItem.objects.all()
    if not _active(user):
        return qs.none()
    if user.role in ALL_MATTERS_ROLES:
        return qs
    if user.role == Role.COUNTY_LEADER:
        return qs.filter(round__reported_at__isnull=False)
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return qs.filter(unit_id=user.unit_id)
    return qs.none()


def visible_units(user) -> QuerySet[Unit]:
    """The county's unit directory: every county user may read it."""
    return Unit.objects.all() if _active(user) else Unit.objects.none()


def statement_units(user) -> QuerySet[Unit]:
    """Units whose score statement a user may read: all for office roles and leaders, one's own
    for unit staff."""
    qs = Unit.objects.all()
    if not _active(user):
        return qs.none()
    if user.role in SCORE_READERS:
        return qs
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return qs.filter(pk=user.unit_id)
    return qs.none()


# --- fetch one, or NotFound (missing and not visible are the same answer) -----------------------
def access_step(user, step_id) -> EscalationStep:
    step = (visible_steps(user).select_related("matter", "unit", "notice", "recorded_by", "reply_by")
            .filter(pk=step_id).first())
    if step is None:
        raise NotFound(_("没有找到这项督办措施。"))
    return step


def access_statement_unit(user, code: str) -> Unit:
    unit = statement_units(user).filter(code=code).first()
    if unit is None:
        raise NotFound(_("没有找到该单位。"))
    return unit


def access_circular(user, circular_id) -> Circular:
    circular = (visible_circulars(user).select_related("notice", "drafted_by", "published_by")
                .prefetch_related("praised", "criticised", "named").filter(pk=circular_id).first())
    if circular is None:
        raise NotFound(_("没有找到该通报。"))
    return circular
