"""Importing a county's responsible units (承办单位) from an Excel sheet, all or nothing.

The first sheet has a header row: 单位编码 | 单位名称 | 类型 (乡镇/部门) | 联系人 | 联系电话
(English ``code``, ``name``, ``kind`` — township/department —, ``contact_person`` and
``contact_phone`` are accepted too). Every row is checked first; one bad row and nothing is
created (:class:`~duban.core.imports.ImportErrorReport` lists every problem by row and column).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core.errors import NotAllowed
from duban.core.imports import Column, ImportResult, Progress, Row, RowError, Sheet, run_import
from duban.units.actions import do_create_unit
from duban.units.models import Unit


def _max(name: str) -> int:
    return Unit._meta.get_field(name).max_length


COLUMNS = (
    Column("code", "单位编码", ("编码", "单位代码", "代码"), max_length=_max("code")),
    Column("name", "单位名称", ("名称",), max_length=_max("name")),
    Column("kind", "类型", ("单位类型", "类别")),
    Column("contact_person", "联系人", ("contact person",), required=False, max_length=_max("contact_person")),
    Column("contact_phone", "联系电话", ("电话", "phone", "contact phone"), required=False,
           max_length=_max("contact_phone")),
)
LABELS = {column.key: column.label for column in COLUMNS}
KINDS = {
    **{str(label): value for value, label in Unit.Kind.choices},  # 乡镇, 部门
    **{value: value for value in Unit.Kind.values},  # township, department
}


def _kind(text: str) -> str | None:
    return KINDS.get(text) or KINDS.get(text.casefold())


IMPORTING_ROLES = (Role.COUNTY_ADMIN,)  # who may import units (the CLI and the web's import page)


def _check_actor(actor: Any) -> None:
    # A system label ("cli", "seed") acts for the platform; a person must be the county admin.
    if isinstance(actor, str) or actor is None:
        return
    if not actor.is_active or actor.role not in IMPORTING_ROLES:
        raise NotAllowed(_("只有县级管理员可以导入单位。"))


def import_units(source, *, actor, progress: Progress | None = None, dry_run: bool = False) -> ImportResult:
    """Create every unit in the first sheet of ``source`` (a path or a binary file object),
    or none. Raises :class:`ImportErrorReport` with the row-by-row report when any row is bad.

    ``progress(description, total)`` — e.g. :func:`duban.core.progress.progress_bar` — is
    entered around the writes. ``dry_run`` checks everything (the writes included) and keeps
    nothing."""
    _check_actor(actor)
    first_code: dict[str, int] = {}
    first_name: dict[str, int] = {}

    def check_row(row: Row, row_ok: bool, errors: list[RowError]) -> dict:
        code, unit_name, kind_text = row.text("code"), row.text("name"), row.text("kind")
        kind = _kind(kind_text)
        if kind_text and kind is None:
            errors.append(RowError(row.number, LABELS["kind"],
                                   _("未知类型“%(text)s”（应为“乡镇”或“部门”）") % {"text": kind_text}))
            row_ok = False
        if code and code in first_code:
            errors.append(RowError(row.number, LABELS["code"],
                                   _("单位编码“%(code)s”与第%(row)d行重复") % {"code": code, "row": first_code[code]}))
            row_ok = False
        if unit_name and unit_name in first_name:
            errors.append(RowError(row.number, LABELS["name"],
                                   _("单位名称“%(name)s”与第%(row)d行重复") % {"name": unit_name, "row": first_name[unit_name]}))
            row_ok = False
        if code:
            first_code.setdefault(code, row.number)
        if unit_name:
            first_name.setdefault(unit_name, row.number)
        return {"code": code, "name": unit_name, "kind": kind, "ok": row_ok,
                "contact_person": row.text("contact_person"), "contact_phone": row.text("contact_phone")}

    def check_rows(checked: list[tuple[Row, dict]], errors: list[RowError]) -> None:
        # Already in the county (inactive units included: codes and names stay taken).
        taken_codes = dict(Unit.objects.filter(code__in=list(first_code)).values_list("code", "name"))
        taken_names = dict(Unit.objects.filter(name__in=list(first_name)).values_list("name", "code"))
        for row, data in checked:
            if data["code"] in taken_codes and first_code[data["code"]] == row.number:
                errors.append(RowError(row.number, LABELS["code"],
                                       _("单位编码“%(code)s”已存在（%(name)s）") % {
                                           "code": data["code"], "name": taken_codes[data["code"]]}))
            if data["name"] in taken_names and first_name[data["name"]] == row.number:
                errors.append(RowError(row.number, LABELS["name"],
                                       _("单位名称“%(name)s”已存在（编码 %(code)s）") % {
                                           "name": data["name"], "code": taken_names[data["name"]]}))

    def write_row(data: dict) -> Unit:  # e.g. someone created the same unit meanwhile: Invalid, reported
        return do_create_unit(data["code"], data["name"], data["kind"], actor=actor,
                              contact_person=data["contact_person"], contact_phone=data["contact_phone"])

    def finish(units: list[Unit], sheet: Sheet, name: str) -> None:
        audit.record(actor=actor, action="unit.import", object_type="units.unit", after={
            "file": name, "sheet": sheet.title, "count": len(units), "codes": [u.code for u in units]})

    return run_import(source, COLUMNS, check_row=check_row, check_rows=check_rows, write_row=write_row,
                      finish=finish, description="导入单位 importing units", progress=progress, dry_run=dry_run)
