"""Batch imports from Excel (.xlsx): the shared reader and the all-or-nothing error report.

An import reads the first sheet of a workbook, finds its header row (row 1, or the first row
that names a known column when a title row sits above it), maps Chinese or English headers to
fields, and hands the importer one :class:`Row` per non-empty line with its Excel row number.
Importers validate every row first and collect :class:`RowError` s; if there is any, nothing is
written and :class:`ImportErrorReport` is raised carrying the whole report. A successful import
returns an :class:`ImportResult`.

The file is read through ``duban.core.spreadsheet``: its zip directory and sheet XML are
checked against size, row and column limits before openpyxl parses anything, and the first
sheet is then streamed read-only (issue 18 point 7).

One runner, :func:`run_import`, does the rest for every import — ``duban.units.imports`` and
``duban.matters.imports`` say only what their columns are, how a row is checked and which action
writes it: every cell checked, every row's problems collected, then each row written by its
action inside one :func:`~duban.core.actions.action_scope` (an action refusing a row is that
row's problem), the import's own audit event, all or nothing, with progress.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from django.utils.translation import gettext
from openpyxl.utils import get_column_letter

from duban.core import spreadsheet
from duban.core.actions import action_scope
from duban.core.errors import Invalid

MAX_DATA_ROWS = 5000
HEADER_SEARCH_ROWS = 10
# Columns that spreadsheets commonly carry and that an import may ignore (a running number).
IGNORED_HEADERS = frozenset({"序号", "编号no", "no", "no.", "#"})

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls, and password-protected (encrypted) .xlsx

Progress = Callable[[str, int], AbstractContextManager[Callable[..., None]]]


class RowError(NamedTuple):
    """One problem: the Excel row number (``None`` for the file as a whole), the column's
    header (``""`` for the row as a whole) and a message."""

    row: int | None
    column: str
    message: str

    def format(self) -> str:
        where = gettext("第%(row)d行") % {"row": self.row} if self.row is not None else gettext("文件")
        column = gettext("【%(column)s】") % {"column": self.column} if self.column else ""
        return gettext("%(where)s%(column)s：%(message)s") % {"where": where, "column": column, "message": self.message}


def _sorted(errors: Iterable[RowError]) -> list[RowError]:
    # File-level errors first, then by row; the order within a row is kept (column order).
    indexed = list(enumerate(errors))
    indexed.sort(key=lambda item: (item[1].row is not None, item[1].row or 0, item[0]))
    return [error for _, error in indexed]


@dataclass(frozen=True)
class PreviewRow:
    """One data row as the import read it: its Excel row number, its cells as text under their
    columns' labels, and its problems (none when it would be imported)."""

    number: int
    values: dict[str, str]
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportResult:
    """What an import did: how many objects it created, or the row-by-row report of why it
    created none. After a dry run, ``created`` is how many it would create (none are kept).

    ``columns`` and ``rows`` are the preview (:meth:`preview`): the labels of the columns the
    file has, and every data row as read, with its problems — empty when the file itself could
    not be read (its problem is then a file-level error)."""

    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    objects: list = field(default_factory=list, repr=False)
    source: str = ""
    dry_run: bool = False
    columns: list[str] = field(default_factory=list)
    rows: list[PreviewRow] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def file_errors(self) -> list[RowError]:
        """Problems not of one data row: the file, the sheet, the header row."""
        numbers = {row.number for row in self.rows}
        return [error for error in _sorted(self.errors) if error.row not in numbers]

    def preview(self) -> list[PreviewRow]:
        """Every data row with its own problems attached (the web's preview table, the CLI's
        ``--dry-run`` table)."""
        by_row: dict[int, list[RowError]] = {}
        for error in self.errors:
            if error.row is not None:
                by_row.setdefault(error.row, []).append(error)
        return [PreviewRow(row.number, row.values, tuple(by_row.get(row.number, ()))) for row in self.rows]

    def lines(self) -> list[str]:
        return [error.format() for error in _sorted(self.errors)]

    def format(self) -> str:
        """The report as text, one problem a line: ``第3行【督办类别】：未知类别“xyz”``."""
        return "\n".join(self.lines())


class ImportErrorReport(ValueError):
    """The file has problems; nothing was imported. ``result`` holds the whole report."""

    def __init__(self, errors: Iterable[RowError], *, source: str = "", columns: Iterable[str] = (),
                 rows: Iterable[PreviewRow] = ()):
        self.result = ImportResult(created=0, errors=_sorted(errors), source=source, columns=list(columns),
                                   rows=list(rows))
        count = len(self.result.errors)
        super().__init__(gettext("%(source)s有%(count)d处问题，没有导入任何内容。")
                         % {"source": source or gettext("文件"), "count": count} + "\n" + self.result.format())

    @property
    def errors(self) -> list[RowError]:
        return self.result.errors

    def format(self) -> str:
        return self.result.format()


class Rollback(Exception):
    """Raised inside an import's transaction to undo everything written so far."""


# check_row(row, cells_ok, errors) → what write_row needs for the row; appends the row's problems
CheckRow = Callable[["Row", bool, list[RowError]], Any]
# check_rows(planned, errors): checks across rows, once every row is checked (e.g. against the database)
CheckRows = Callable[[list[tuple["Row", Any]], list[RowError]], None]
# finish(objects, sheet, source name): the import's own audit event, inside its transaction
Finish = Callable[[list, "Sheet", str], None]


# --- columns and rows ----------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A column an import understands. ``label`` is its canonical Chinese header (used in the
    report); ``aliases`` are the other headers accepted for it (matched ignoring case, spaces,
    a leading/trailing ``*`` and a bracketed note such as ``（YYYY-MM-DD）``)."""

    key: str
    label: str
    aliases: tuple[str, ...] = ()
    required: bool = True  # the column must be present and its cells filled
    max_length: int | None = None  # checked for text cells

    def names(self) -> tuple[str, ...]:
        return (self.label, self.key, *self.aliases)


_BRACKETED = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")


def normalize_header(value: Any) -> str:
    text = cell_text(value)
    text = _BRACKETED.sub("", text)
    text = re.sub(r"\s+", "", text).strip("*＊:：")
    return text.casefold()


def cell_text(value: Any) -> str:
    """A cell as text: ``None`` → ``""``, whole numbers without ``.0`` (codes and phone
    numbers typed as numbers), dates as ISO, strings stripped (full-width spaces too)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


@dataclass
class Row:
    number: int  # as Excel shows it
    values: dict[str, Any]

    def raw(self, key: str) -> Any:
        return self.values.get(key)

    def text(self, key: str) -> str:
        return cell_text(self.values.get(key))


@dataclass
class Sheet:
    title: str
    header_row: int
    columns: dict[str, Column]  # keys of the columns present
    rows: list[Row]


def describe_source(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return Path(str(getattr(source, "name", "") or "")).name or gettext("上传的文件")


def _file_error(message: str, source: str) -> ImportErrorReport:
    return ImportErrorReport([RowError(None, "", message)], source=source)


def _file_bytes(source: Any, name: str) -> bytes:
    """The file's bytes (a path or a binary file object), refused early when it is plainly not
    an .xlsx or is bigger than :data:`duban.core.spreadsheet.MAX_FILE_BYTES`."""
    limit = spreadsheet.MAX_FILE_BYTES
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise _file_error(gettext("找不到文件“%(path)s”") % {"path": path}, name)
        if not path.is_file():
            raise _file_error(gettext("“%(path)s”不是文件") % {"path": path}, name)
        if path.stat().st_size > limit:
            raise _file_error(_too_big(path.stat().st_size), name)
        data = path.read_bytes()
    else:
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read(limit + 1)
        if isinstance(data, str):
            raise _file_error(gettext("不是 .xlsx 文件（收到的是文本）；请上传 Excel 工作簿（.xlsx）"), name)
        if len(data) > limit:
            raise _file_error(_too_big(getattr(source, "size", None) or len(data)), name)
    if not data:
        raise _file_error(gettext("文件是空的（0 字节）"), name)
    suffix = Path(name).suffix.lower()
    if data.startswith(OLE_MAGIC):
        raise _file_error(gettext("这是旧版 .xls 格式或受密码保护的文件，无法读取；请在 Excel 中取消密码并“另存为”"
                                  "Excel 工作簿（.xlsx）后再导入"), name)
    if not data.startswith(ZIP_MAGIC):
        if suffix in (".csv", ".txt"):
            raise _file_error(gettext("不是 .xlsx 文件（看起来是 CSV/文本文件）；"
                                      "请在 Excel 中“另存为”Excel 工作簿（.xlsx）后再导入"), name)
        raise _file_error(gettext("不是 .xlsx 文件；请在 Excel 中“另存为”Excel 工作簿（.xlsx）后再导入"), name)
    return data


def _too_big(size: int) -> str:
    return gettext("文件太大（%(size)s，最多 %(limit)s）；请拆分文件后再导入") % {
        "size": f"{size / (1024 * 1024):.1f} MB", "limit": f"{spreadsheet.MAX_FILE_BYTES / (1024 * 1024):.1f} MB"}


def _first_sheet(source: Any, name: str) -> spreadsheet.FirstSheet:
    """The first sheet, read only after the archive and its sheets passed the size checks."""
    data = _file_bytes(source, name)
    try:
        return spreadsheet.read_first_sheet(data)
    except spreadsheet.Refused as refused:
        raise _file_error(str(refused), name) from None
    except Exception:  # any failure to parse untrusted input is the file's fault
        raise _file_error(gettext("无法读取该 .xlsx 文件；它可能已损坏，或不是 Excel 工作簿"),
                          name) from None


def _grid(sheet: spreadsheet.FirstSheet) -> list[list[Any]]:
    """The sheet's values as rows of one width, with each merged range's value repeated in every
    cell it covers (a unit merged across several task rows belongs to each of them)."""
    grid = [list(row) for row in sheet.rows]
    for min_col, min_row, max_col, max_row in sheet.merges:
        if min_row > len(grid):
            continue
        top = grid[min_row - 1]
        value = top[min_col - 1] if min_col <= len(top) else None
        for r in range(min_row, min(max_row, len(grid)) + 1):
            row = grid[r - 1]
            for c in range(min_col, max_col + 1):
                while len(row) < c:
                    row.append(None)
                row[c - 1] = value
    width = max((len(row) for row in grid), default=0)
    for row in grid:
        row.extend([None] * (width - len(row)))
    return grid


def _empty(values: Iterable[Any]) -> bool:
    return all(cell_text(v) == "" for v in values)


def read_sheet(source: Any, columns: Iterable[Column]) -> Sheet:
    """Read the first sheet of an .xlsx file (a path, or a binary file object such as an
    upload). Raises :class:`ImportErrorReport` for an unreadable file, an empty sheet, or a
    header row with missing, unknown or repeated columns. Required/over-long cells are reported
    by :func:`check_cells`."""
    columns = list(columns)
    name = describe_source(source)
    sheet = _first_sheet(source, name)
    grid, title = _grid(sheet), sheet.title
    if all(_empty(row) for row in grid):
        raise _file_error(gettext("第一个工作表“%(title)s”是空的") % {"title": title}, name)

    by_name: dict[str, Column] = {}
    for column in columns:
        for alias in column.names():
            by_name[normalize_header(alias)] = column

    # The header row: the first row that names a known column (a title row may sit above it),
    # else the first non-empty row (whose problems are then reported).
    first_nonempty = next(i for i, row in enumerate(grid) if not _empty(row))
    header_index = next((i for i, row in enumerate(grid[:HEADER_SEARCH_ROWS])
                         if any(normalize_header(v) in by_name for v in row)), first_nonempty)
    header_row = header_index + 1
    header = grid[header_index]
    body = grid[header_index + 1:]

    errors: list[RowError] = []
    positions: dict[str, int] = {}  # key → 0-based column index
    for index, value in enumerate(header):
        label = cell_text(value)
        key = normalize_header(value)
        if not label:
            if any(index < len(row) and cell_text(row[index]) for row in body):
                errors.append(RowError(header_row, gettext("%(letter)s列") % {"letter": _letter(index)},
                                       gettext("该列有数据但没有表头")))
            continue
        if key in IGNORED_HEADERS:
            continue
        column = by_name.get(key)
        if column is None:
            known = "、".join(c.label for c in columns)
            errors.append(RowError(header_row, label, gettext("未知的列（可用的列：%(known)s）") % {"known": known}))
            continue
        if column.key in positions:
            errors.append(RowError(header_row, label, gettext("与%(letter)s列重复（都是“%(label)s”）") % {
                "letter": _letter(positions[column.key]), "label": column.label}))
            continue
        positions[column.key] = index
    for column in columns:
        if column.required and column.key not in positions:
            errors.append(RowError(header_row, column.label, gettext("缺少必需的列")))
    if errors:
        raise ImportErrorReport(errors, source=name)

    rows = []
    for offset, values in enumerate(body):
        if _empty(values):
            continue
        number = header_row + 1 + offset
        rows.append(Row(number, {key: (values[i] if i < len(values) else None) for key, i in positions.items()}))
    if not rows:
        raise _file_error(gettext("工作表“%(title)s”只有表头（第%(row)d行），没有数据行") % {
            "title": title, "row": header_row}, name)
    if len(rows) > MAX_DATA_ROWS:
        raise _file_error(gettext("数据行太多（%(n)d 行）；一次最多导入 %(max)d 行，请拆分文件") % {
            "n": len(rows), "max": MAX_DATA_ROWS},
                          name)
    present = {key: next(c for c in columns if c.key == key) for key in positions}
    return Sheet(title=title, header_row=header_row, columns=present, rows=rows)


def _letter(index: int) -> str:
    return get_column_letter(index + 1)


def check_cells(row: Row, columns: Iterable[Column], errors: list[RowError]) -> bool:
    """Required cells filled, text cells not over-long. True when the row passed."""
    ok = True
    for column in columns:
        text = row.text(column.key)
        if column.required and not text:
            errors.append(RowError(row.number, column.label, gettext("不能为空")))
            ok = False
        elif column.max_length and len(text) > column.max_length:
            errors.append(RowError(row.number, column.label,
                                   gettext("太长（%(n)d 字，最多 %(max)d 字）") % {"n": len(text), "max": column.max_length}))
            ok = False
    return ok


@contextmanager
def no_progress(description: str, total: int):
    yield lambda n=1: None


def run_import(source: Any, columns: Iterable[Column], *, check_row: CheckRow, write_row: Callable[[Any], Any],
               finish: Finish, description: str, check_rows: CheckRows | None = None,
               field_columns: dict[str, str] | None = None, progress: Progress | None = None,
               dry_run: bool = False) -> ImportResult:
    """Import the first sheet of ``source`` (a path or a binary file object), every row or none.

    Every row's cells are checked (:func:`check_cells`) and then by ``check_row``, which returns
    what ``write_row`` needs; ``check_rows`` may then look across rows. Any problem and
    :class:`ImportErrorReport` is raised with all of them, before anything is written. Then,
    inside ``progress(description, total)`` and one :func:`action_scope`, ``write_row`` (the
    area's action) writes each row: an :class:`~duban.core.errors.Invalid` it raises is reported
    against that row, in the column ``field_columns`` (or the column key) names for its field.
    Any such problem undoes everything and raises the report; otherwise ``finish`` records the
    import. ``dry_run`` does it all and keeps nothing."""
    columns = tuple(columns)
    name = describe_source(source)
    sheet = read_sheet(source, columns)
    shown = [column for column in columns if column.key in sheet.columns]  # the file's, in the import's order
    labels_shown = [column.label for column in shown]
    rows = [PreviewRow(row.number, {column.label: row.text(column.key) for column in shown}) for row in sheet.rows]
    errors: list[RowError] = []
    planned: list[tuple[Row, Any]] = []
    for row in sheet.rows:
        cells_ok = check_cells(row, columns, errors)
        planned.append((row, check_row(row, cells_ok, errors)))
    if check_rows is not None:
        check_rows(planned, errors)
    if errors:
        raise ImportErrorReport(errors, source=name, columns=labels_shown, rows=rows)

    labels = {**{column.key: column.label for column in columns}, **(field_columns or {})}
    objects: list = []
    progress = progress or no_progress
    try:
        with progress(description, len(planned)) as advance, action_scope():
            for row, data in planned:
                try:
                    objects.append(write_row(data))
                except Invalid as exc:  # the action's own checks; its savepoint undid the row
                    errors.append(RowError(row.number, labels.get(exc.field, exc.field), str(exc)))
                advance()
            if errors:
                raise Rollback
            finish(objects, sheet, name)
            if dry_run:
                raise Rollback
    except Rollback:
        if errors:
            raise ImportErrorReport(errors, source=name, columns=labels_shown, rows=rows) from None
        return ImportResult(created=len(objects), source=name, dry_run=True, columns=labels_shown,
                            rows=rows)  # rolled back
    return ImportResult(created=len(objects), objects=objects, source=name, columns=labels_shown, rows=rows)
