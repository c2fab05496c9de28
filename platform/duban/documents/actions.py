"""The documents' writes: a county's own wording of its pack's documents."""

from __future__ import annotations

from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core.actions import action
from duban.core.county import county_pack
from duban.core.errors import Invalid, NotAllowed
from duban.documents.models import DocumentTextOverride
from duban.documents.texts import FIELDS, LIST_FIELDS, UnknownDocument

REQUIRED = ("title", "issuing_office")  # may be overridden, never emptied
MAX_LENGTH = {"title": 200, "issuing_office": 100, "heading": 2000, "closing": 2000}
EDITORS = (Role.COUNTY_ADMIN, Role.OFFICE_LEADER)


def _clean(name: str, value):
    if value is None:
        return None
    if name in LIST_FIELDS:
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise Invalid(_("这一项应为逐行文字。"), field=name)
        lines = [v.strip() for v in value if v.strip()]
        if any(len(line) > 200 for line in lines):
            raise Invalid(_("每行不能超过200个字。"), field=name)
        return lines
    if not isinstance(value, str):
        raise Invalid(_("这一项应为文字。"), field=name)
    value = value.strip()
    if name in REQUIRED and not value:
        raise Invalid(_("这一项不能为空（如要沿用默认文字，请恢复默认）。"), field=name)
    if len(value) > MAX_LENGTH[name]:
        raise Invalid(_("这一项不能超过%(limit)d个字。") % {"limit": MAX_LENGTH[name]}, field=name)
    return value


@action
def do_set_document_text(code: str, *, actor, reset: list[str] | tuple[str, ...] = (), **changes) -> DocumentTextOverride:
    """Override some texts of document ``code`` for this county (the county admin or the office
    leader). ``changes`` name fields of :data:`FIELDS`; ``reset`` names fields that go back to the
    pack's text. Audited with before and after."""
    if getattr(actor, "role", None) not in EDITORS:
        raise NotAllowed(_("只有县级管理员或督查室主任可以修改公文文字。"))
    pack = county_pack()
    if pack.document(code) is None:
        raise UnknownDocument(code, pack)
    unknown = (set(changes) | set(reset)) - set(FIELDS)
    if unknown:
        raise Invalid(_("公文没有这一项文字。"), field=sorted(unknown)[0])
    if not changes and not reset:
        raise Invalid(_("没有要修改的内容。"), field="code")
    clean = {name: _clean(name, value) for name, value in changes.items()}
    override = DocumentTextOverride.objects.select_for_update().filter(code=code).first()
    before = {name: getattr(override, name) for name in FIELDS} if override else None
    if override is None:
        override = DocumentTextOverride(code=code, updated_by=actor)
    for name, value in clean.items():
        setattr(override, name, value)
    for name in reset:
        setattr(override, name, None)
    override.updated_by = actor
    override.save()
    audit.record(actor=actor, action="document_text.set", obj=override, before=before,
                 after={name: getattr(override, name) for name in FIELDS} | {"code": code})
    return override
