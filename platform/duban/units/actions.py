"""Writes to units."""

from __future__ import annotations

from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core.actions import action
from duban.core.errors import Invalid
from duban.units.models import Unit


@action
def do_create_unit(code: str, name: str, kind: str, *, actor, contact_person: str = "",
                   contact_phone: str = "") -> Unit:
    if hasattr(actor, "_meta") and actor.role != Role.COUNTY_ADMIN:
        # People maintain units through the county admin role; labels ("cli", "seed_demo") are
        # the operator's own tools.
        raise Invalid(_("只有县级管理员可以维护单位。"), field="actor")
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        raise Invalid(_("请填写单位编码。"), field="code")
    if not name:
        raise Invalid(_("请填写单位名称。"), field="name")
    if kind not in Unit.Kind.values:
        raise Invalid(_("单位类型应为%(choices)s之一。") % {"choices": "、".join(str(k.label) for k in Unit.Kind)},
                      field="kind")
    if Unit.objects.filter(code=code).exists():
        raise Invalid(_("单位编码“%(code)s”已被使用。") % {"code": code}, field="code")
    if Unit.objects.filter(name=name).exists():
        raise Invalid(_("单位名称“%(name)s”已被使用。") % {"name": name}, field="name")
    unit = Unit.objects.create(code=code, name=name, kind=kind, contact_person=contact_person,
                               contact_phone=contact_phone)
    audit.record(actor=actor, action="unit.create", obj=unit,
                 after={"code": code, "name": name, "kind": kind})
    return unit
