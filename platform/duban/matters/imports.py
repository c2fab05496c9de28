"""Batch import of matters from Excel — e.g. the tasks of the Government Work Report
(政府工作报告) that a leader hands the supervision office as one spreadsheet. All or nothing.

Headers (first sheet; Chinese or English):

==================  =====================  ==========================================================
事项名称             title                  required, up to 200 characters
事项内容             content                required
督办类别             category               required: a scope code of the county's pack
                                            (``work_report``) or its Chinese label
建议责任单位         units                  optional: unit codes (or names) separated by 、 , ， ; ；
要求完成时间         requested_deadline     optional: a date cell or ``YYYY-MM-DD`` text, not past
来源                 source_reference       optional: document number etc.
时效性强             time_sensitive         optional: 是/否
==================  =====================  ==========================================================

Each row becomes a matter proposed on the leader's behalf and entered in the register book
(``do_propose_matter`` + ``do_register_matter``), so it waits for that leader's approval like
any other proposal. Every row is checked before anything is written; if any row is bad — or an
action refuses one — nothing is kept and :class:`~duban.core.imports.ImportErrorReport` lists
every problem by row and column.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core.county import county_pack, today
from duban.core.errors import Invalid, NotAllowed
from duban.core.imports import Column, ImportResult, Progress, Row, RowError, Sheet, run_import
from duban.matters.actions import do_propose_matter, do_register_matter
from duban.matters.models import Matter
from duban.matters.states import LEADERS
from duban.units.models import Unit


def _max(name: str) -> int:
    return Matter._meta.get_field(name).max_length


COLUMNS = (
    Column("title", "事项名称", ("任务名称", "事项", "名称"), max_length=_max("title")),
    Column("content", "事项内容", ("任务内容", "具体内容", "内容")),
    Column("category", "督办类别", ("类别",)),
    Column("units", "建议责任单位", ("责任单位", "承办单位", "proposed_units"), required=False),
    Column("requested_deadline", "要求完成时间", ("完成时间", "完成时限", "deadline"), required=False),
    Column("source_reference", "来源", ("source", "文号"), required=False, max_length=_max("source_reference")),
    Column("time_sensitive", "时效性强", ("时效性",), required=False),
)
LABELS = {column.key: column.label for column in COLUMNS}

UNIT_SEPARATORS = re.compile(r"[、,，;；\s]+")
DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
YES = {"是", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "n", "no", "false", "0", "×", "✗"}


def _categories() -> tuple[dict[str, str], str]:
    """Category code, Chinese label and English label (any case) → code; and a hint."""
    scope = county_pack().scope
    names: dict[str, str] = {}
    for category in scope:
        for name in (category.code, category.label.zh, category.label.en):
            if name:
                names.setdefault(re.sub(r"\s+", "", name).casefold(), category.code)
    hint = "、".join(c.label.zh for c in scope)  # the clerk's words; the codes are accepted too
    return names, hint


def _date(value) -> tuple[date | None, str | None]:
    """(date, None) or (None, problem). Accepts a date cell or 2026-06-30 / 2026/6/30 /
    2026年6月30日 text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    text = str(value).strip()
    match = DATE_TEXT.match(text) if isinstance(value, str) else None
    if match:
        try:
            return date(*map(int, match.groups())), None
        except ValueError:
            pass
    return None, _("不是有效日期“%(text)s”（应为日期单元格或 YYYY-MM-DD 文本）") % {"text": text}


def _yes_no(value) -> tuple[bool, str | None]:
    if isinstance(value, bool):
        return value, None
    text = ("" if value is None else str(value)).strip().casefold()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text or text in NO:
        return False, None
    if text in YES:
        return True, None
    return False, _("应填“是”或“否”，不是“%(text)s”") % {"text": str(value).strip()}


IMPORTING_ROLES = (Role.SUPERVISION_STAFF,)  # who may import matters (the CLI and the web's import page)


def _check_people(actor, proposed_by) -> None:
    if getattr(actor, "role", None) not in IMPORTING_ROLES or not actor.is_active:
        raise NotAllowed(_("只有督查督办人员可以导入事项。"))
    if getattr(proposed_by, "role", None) not in LEADERS or not proposed_by.is_active:
        raise Invalid(_("导入的事项须以一位在职的县领导或督查室主任的名义提出。"), field="proposed_by")


def import_matters(source, *, actor, proposed_by, progress: Progress | None = None,
                   dry_run: bool = False) -> ImportResult:
    """Propose and register every matter in the first sheet of ``source`` (a path or a binary
    file object) on behalf of the leader ``proposed_by``, or none. Runs inside a county
    (``tenant_context``). Raises :class:`ImportErrorReport` with the row-by-row report when any
    row is bad; :class:`NotAllowed` unless ``actor`` is supervision staff; :class:`Invalid`
    (field ``proposed_by``) unless ``proposed_by`` is an active leader.

    ``progress(description, total)`` — e.g. :func:`duban.core.progress.progress_bar` — is
    entered around the writes. ``dry_run`` checks everything (the writes included) and keeps
    nothing."""
    _check_people(actor, proposed_by)
    categories, category_hint = _categories()
    units_by_code = {u.code: u for u in Unit.objects.all()}
    units_by_name = {u.name: u for u in units_by_code.values()}
    now = today()
    first_seen: dict[tuple[str, str], int] = {}

    def check_row(row: Row, cells_ok: bool, errors: list[RowError]) -> dict:
        title, content = row.text("title"), row.text("content")

        category = None
        category_text = row.text("category")
        if category_text:
            category = categories.get(re.sub(r"\s+", "", category_text).casefold())
            if category is None:
                errors.append(RowError(row.number, LABELS["category"],
                                       _("未知类别“%(text)s”（可填：%(hint)s）") % {
                                           "text": category_text, "hint": category_hint}))

        codes: list[str] = []
        for token in UNIT_SEPARATORS.split(row.text("units")):
            if not token:
                continue
            unit = units_by_code.get(token) or units_by_name.get(token)
            if unit is None:
                errors.append(RowError(row.number, LABELS["units"],
                                       _("未知单位“%(text)s”（填单位编码或单位名称）") % {"text": token}))
            elif not unit.is_active:
                errors.append(RowError(row.number, LABELS["units"],
                                       _("单位“%(text)s”（%(name)s）已停用") % {"text": token, "name": unit.name}))
            elif unit.code not in codes:
                codes.append(unit.code)

        deadline, problem = _date(row.raw("requested_deadline"))
        if problem:
            errors.append(RowError(row.number, LABELS["requested_deadline"], problem))
        elif deadline is not None and deadline < now:
            errors.append(RowError(row.number, LABELS["requested_deadline"],
                                   _("要求完成时间%(deadline)s已过（今天是%(today)s）") % {
                                       "deadline": date_format(deadline, "DATE_FORMAT"),
                                       "today": date_format(now, "DATE_FORMAT")}))

        time_sensitive, problem = _yes_no(row.raw("time_sensitive"))
        if problem:
            errors.append(RowError(row.number, LABELS["time_sensitive"], problem))

        if title and content:
            key = (title, content)
            if key in first_seen:
                errors.append(RowError(row.number, LABELS["title"],
                                       _("与第%(row)d行重复（事项名称和内容都相同）") % {"row": first_seen[key]}))
            first_seen.setdefault(key, row.number)

        return {"title": title, "content": content, "category": category, "proposed_units": codes,
                "requested_deadline": deadline, "source_reference": row.text("source_reference"),
                "time_sensitive": time_sensitive}

    def write_row(fields: dict) -> Matter:
        matter = do_propose_matter(actor=actor, on_behalf_of=proposed_by, **fields)
        return do_register_matter(matter.pk, actor=actor, expected_version=matter.version)

    def finish(matters: list[Matter], sheet: Sheet, name: str) -> None:
        audit.record(actor=actor, action="matter.import", object_type="matters.matter", after={
            "file": name, "sheet": sheet.title, "count": len(matters), "proposed_by": proposed_by.username,
            "numbers": [m.number for m in matters]})

    return run_import(source, COLUMNS, check_row=check_row, write_row=write_row, finish=finish,
                      field_columns={"proposed_units": LABELS["units"]}, description="导入督办事项 importing matters",
                      progress=progress, dry_run=dry_run)
