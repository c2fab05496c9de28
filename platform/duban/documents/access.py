"""Who sees which documents. The supervision office sees every document; anyone else sees the
documents of each kind that the kind's area lets them see (``registry.DocumentKind.visible``).
"Missing" and "not yours" are the same answer (:class:`NotFound`)."""

from __future__ import annotations

import operator
from functools import reduce

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.core.errors import NotFound
from duban.documents import registry
from duban.documents.models import Document

# The supervision office (the same roles as matters.access.ALL_MATTERS_ROLES): every document.
OFFICE_ROLES = (Role.SUPERVISION_STAFF, Role.OFFICE_LEADER, Role.COUNTY_ADMIN)


def visible_documents(user) -> QuerySet[Document]:
    qs = Document.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in OFFICE_ROLES:
        return qs
    shown = []
    for kind in registry.kinds():
        condition = kind.visible(user) if kind.visible else None
        if condition is not None:
            shown.append(Q(kind=kind.code) & condition)
    if not shown:
        return qs.none()
    return qs.filter(reduce(operator.or_, shown)).distinct()


def access_document_by_id(user, document_id) -> Document:
    try:
        document_id = int(document_id)
    except (TypeError, ValueError):
        raise NotFound(_("没有找到该公文。")) from None
    document = visible_documents(user).filter(pk=document_id).first()
    if document is None:
        raise NotFound(_("没有找到该公文。"))
    return document
