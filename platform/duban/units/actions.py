"""Writes to units."""

from __future__ import annotations

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
        raise Invalid("only the county admin maintains units", field="actor")
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        raise Invalid("a unit needs a code", field="code")
    if not name:
        raise Invalid("a unit needs a name", field="name")
    if kind not in Unit.Kind.values:
        raise Invalid(f"kind must be one of {', '.join(Unit.Kind.values)}", field="kind")
    if Unit.objects.filter(code=code).exists():
        raise Invalid(f"unit code {code!r} is taken", field="code")
    if Unit.objects.filter(name=name).exists():
        raise Invalid(f"unit name {name!r} is taken", field="name")
    unit = Unit.objects.create(code=code, name=name, kind=kind, contact_person=contact_person,
                               contact_phone=contact_phone)
    audit.record(actor=actor, action="unit.create", obj=unit,
                 after={"code": code, "name": name, "kind": kind})
    return unit
