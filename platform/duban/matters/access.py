"""Fetching matters through the acting user's rights.

"Missing" and "not yours" are the same answer (:class:`NotFound`, HTTP 404), so nobody
learns that a matter exists from being refused it.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.core.errors import NotFound
from duban.matters.models import Attachment, ChangeRequest, Matter, ResultReport
from duban.matters.states import State

ALL_MATTERS_ROLES = (Role.SUPERVISION_STAFF, Role.OFFICE_LEADER, Role.COUNTY_ADMIN)
# Unit staff see a matter once it has been assigned to their unit.
UNIT_VISIBLE_STATES = (State.ASSIGNED, State.IN_PROGRESS, State.REPORTED, State.REDO, State.CLOSED, State.CANCELLED)


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
        raise NotFound(_("没有找到该事项。")) from None
    qs = visible_matters(user).filter(pk=matter_id)
    if for_update:
        # Lock the row itself (a visibility join cannot be locked FOR UPDATE with DISTINCT).
        if not qs.exists():
            raise NotFound(_("没有找到该事项。"))
        return Matter.objects.select_for_update().get(pk=matter_id)
    matter = qs.first()
    if matter is None:
        raise NotFound(_("没有找到该事项。"))
    return matter


def visible_change_requests(user) -> QuerySet[ChangeRequest]:
    """Change and extension requests on the matters a user may see."""
    return ChangeRequest.objects.filter(matter__in=visible_matters(user).values("pk"))


def visible_reports(user, matter: Matter) -> QuerySet[ResultReport]:
    """Results a user may read: the assigning leader sees a result only once it is reviewed."""
    reports = matter.reports.all()
    if user.role == Role.COUNTY_LEADER:
        return reports.filter(review__isnull=False)
    return reports


def visible_attachments(user, matter: Matter | None = None) -> QuerySet[Attachment]:
    """Files a user may list and download (of ``matter``, or of any matter the caller has
    already checked the user may see). One rule for every page, API and download:

    a result's files (督办结果) are reported upward only once the office leader has reviewed the
    result (督办结果上报前须经办公室主管领导审核): until then they are seen by the office
    (supervision staff, the office leader, the county admin) and the unit that reported it only —
    not by the leaders, nor by the matter's other units. A matter's own files and a feedback's
    files are seen by whoever sees the matter (progress is reported to the leader as it comes).
    """
    files = matter.attachments.all() if matter is not None else Attachment.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return files.none()
    if user.role in ALL_MATTERS_ROLES:
        return files
    shown = Q(report__isnull=True) | Q(report__review__isnull=False)
    if user.role == Role.UNIT_STAFF and user.unit_id:
        shown |= Q(report__unit_id=user.unit_id)
    return files.filter(shown)
