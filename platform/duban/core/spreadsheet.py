"""Every .xlsx the project writes or reads goes through here (issue 18, points 2 and 7).

Writing. openpyxl stores any string that starts with ``=`` as a live formula (and ``#N/A`` and
the like as an error value), so a matter titled ``=HYPERLINK("http://…"&B3,"点此查看")`` would
become a formula in the office's export. A workbook is made with :func:`new_workbook`, filled
with :func:`put` / :func:`append` (which drop the control characters XML cannot carry) and
turned into bytes by :func:`workbook_bytes`, which first makes every string cell a text cell
(``t="inlineStr"``, never ``<f>``) and marks text starting with ``= + - @``, tab or CR with
``quotePrefix`` (ECMA-376 §18.8.45) — what Excel itself stores when someone types a leading
apostrophe, OWASP's advice for CSV in the form the xlsx format has for it: the text shows as
typed, without an apostrophe, and stays text when the cell is edited. Numbers and dates stay
numbers and dates. The project writes no formulas of its own; a test checks that no other
module makes or opens a workbook.

Reading. An .xlsx is a zip of XML: a 5 KB file with one cell at XFD1048576 made openpyxl build
gigabytes. :func:`read_first_sheet` looks at the zip's directory (number of entries, each
entry's declared size and compression ratio, their total) and then streams every XML entry
once, without keeping it, for the sheet's ``<dimension>``, its rows, cells and merged ranges,
refusing anything past :data:`MAX_ROWS` rows or :data:`MAX_COLUMNS` columns — all before
openpyxl parses anything. Python's zipfile never inflates an entry past its declared size, so
the declared sizes bound what the parsers see. Only then does openpyxl read the first sheet in
read-only mode, row by row, stopping at the row limit. A refusal is :class:`Refused`, whose
message (Chinese) names the problem and the limit.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from xml.etree.ElementTree import ParseError, iterparse

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import column_index_from_string, get_column_letter

# --- writing ---------------------------------------------------------------------------------------
# Leading characters a spreadsheet may read as the start of a formula (OWASP, CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def new_workbook(title: str):
    """A new workbook and its first sheet, named ``title``."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    return book, sheet


def clean(value: Any) -> Any:
    """``value`` as it can go into a cell: strings lose the control characters XML 1.0 cannot
    carry (openpyxl refuses them); everything else is unchanged."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def put(sheet, row: int, column: int, value: Any):
    """Write one cell; returns it (to style it)."""
    cell = sheet.cell(row=row, column=column)
    cell.value = clean(value)
    return cell


def append(sheet, values) -> None:
    """Append a row after the last one."""
    sheet.append([clean(value) for value in values])


def as_text(cell) -> None:
    """A cell holding a string holds it as text: never a formula or an error value, and marked
    as typed text (quotePrefix) when it starts with a formula trigger."""
    value = cell.value
    if not isinstance(value, str):
        return
    if cell.data_type != "s":
        cell.data_type = "s"
    if value.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True


def workbook_bytes(book) -> bytes:
    """The workbook as .xlsx bytes, every string cell made text first (:func:`as_text`)."""
    for sheet in book.worksheets:
        # openpyxl keeps a sheet's cells in ``_cells``; iter_rows() would create the missing ones.
        for cell in list(sheet._cells.values()):
            as_text(cell)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- a titled table ----------------------------------------------------------------------------------
# The official look (``grid=True``): the documents' Chinese face, thin borders, wrapped text.
TABLE_FONT = "Noto Sans CJK SC"
THIN = Side(style="thin", color="000000")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP = Alignment(vertical="center", wrap_text=True)
ALIGNMENTS = {"center": CENTER, "wrap": WRAP, None: None}


@dataclass(frozen=True)
class Line:
    """A line of text across the table's whole width (merged cells): a heading above the table or a
    note below it. ``align``: ``center``, ``wrap`` (left, wrapped) or ``None``."""

    text: str
    size: int = 11
    bold: bool = False
    height: float | None = None
    color: str | None = None
    align: Literal["center", "wrap"] | None = "center"


def _as_number(value):
    """Text that reads as a number, as that number (``"12"`` → 12, ``"2.5"`` → Decimal); anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    return int(number) if number == number.to_integral_value() and "." not in value else number


def _line(sheet, row: int, last: str, line: Line, font_name: str | None) -> None:
    sheet.merge_cells(f"A{row}:{last}{row}")
    cell = put(sheet, row, 1, line.text)
    cell.font = Font(name=font_name, bold=line.bold, size=line.size, color=line.color)
    if ALIGNMENTS[line.align] is not None:
        cell.alignment = ALIGNMENTS[line.align]
    if line.height is not None:
        sheet.row_dimensions[row].height = line.height


def table_xlsx(sheet_title: str, columns: Sequence[str], rows: Iterable[Sequence], *,
               widths: Sequence[float] | None = None, formats: Mapping[int, str] | None = None,
               numeric: Iterable[int] = (), frozen_columns: int = 0, headings: Sequence[Line] = (),
               notes: Sequence[Line] = (), grid: bool = False, auto_filter: bool = False,
               landscape: bool = False) -> bytes:
    """One sheet holding one table, as .xlsx bytes — every export the project writes.

    ``headings`` are lines above the header row, ``notes`` lines below the table after one empty
    row. The header row stays in view (and the first ``frozen_columns`` columns). ``formats`` gives
    a number format by column (0-based), set on every data cell of it; in ``numeric`` columns, text
    that reads as a number is written as a number, centred, a decimal with two places. ``grid``:
    the official look (the Chinese face, borders, wrapped text); otherwise the header is bold and
    centred and the data cells plain. ``landscape``: printed across A4, one page wide, the header
    row repeated on each page. A column without a width gets one from its header."""
    book, sheet = new_workbook(sheet_title)
    last = get_column_letter(len(columns))
    font_name = TABLE_FONT if grid else None
    numeric = set(numeric)
    formats = dict(formats or {})
    for row, line in enumerate(headings, 1):
        _line(sheet, row, last, line, font_name)
    header_row = len(headings) + 1
    for index, column in enumerate(columns, 1):
        cell = put(sheet, header_row, index, column)
        if grid:
            cell.font, cell.alignment, cell.border = Font(name=TABLE_FONT, bold=True, size=11), CENTER, GRID
        else:
            cell.font, cell.alignment = Font(bold=True), Alignment(horizontal="center")
    row = header_row
    for row, values in enumerate(rows, header_row + 1):
        for index, value in enumerate(values):
            in_numeric = index in numeric
            cell = put(sheet, row, index + 1, _as_number(value) if in_numeric and value != "" else value)
            if grid:
                cell.font, cell.border = Font(name=TABLE_FONT, size=11), GRID
                cell.alignment = CENTER if in_numeric else WRAP
            if index in formats:
                cell.number_format = formats[index]
            elif in_numeric and isinstance(cell.value, Decimal):
                cell.number_format = "0.00"
    for index, column in enumerate(columns):
        width = widths[index] if widths and index < len(widths) else max(8, len(column) * 2 + 2)
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    for offset, line in enumerate(notes):
        _line(sheet, row + 2 + offset, last, line, font_name)
    sheet.freeze_panes = f"{get_column_letter(frozen_columns + 1)}{header_row + 1}"
    if auto_filter:
        sheet.auto_filter.ref = sheet.dimensions
    if landscape:
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.print_title_rows = f"{header_row}:{header_row}"
    return workbook_bytes(book)


# --- reading -----------------------------------------------------------------------------------------
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 1000
MAX_ENTRY_BYTES = 50 * 1024 * 1024  # declared uncompressed size of one entry
MAX_TOTAL_BYTES = 200 * 1024 * 1024  # of all entries together
MAX_RATIO = 100  # uncompressed / compressed, for entries over RATIO_GRACE_BYTES
RATIO_GRACE_BYTES = 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 50
MAX_XML_DEPTH = 64

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
ROW, CELL, DIMENSION, MERGE_CELL = f"{MAIN}row", f"{MAIN}c", f"{MAIN}dimension", f"{MAIN}mergeCell"
COORDINATE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,9})$")


class Refused(ValueError):
    """The file is not read; the message (Chinese) says why and what the limit is."""


@dataclass
class FirstSheet:
    title: str
    rows: list[tuple] = field(default_factory=list)  # the cells' values, row 1 first
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (min_col, min_row, max_col, max_row)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _rows_refused(row: int) -> Refused:
    return Refused(_("工作表用到了第 %(row)s 行，超过了导入的上限（最多 %(max_rows)s 行、%(max_columns)s 列）。"
                     "请删除多余的行（包括没有内容但设了格式的行），或拆分成几个文件后再导入")
                   % {"row": row, "max_rows": MAX_ROWS, "max_columns": MAX_COLUMNS})


def _columns_refused(column: int) -> Refused:
    return Refused(_("工作表用到了第 %(column)s 列（%(letter)s 列），超过了导入的上限（最多 %(max_rows)s 行、"
                     "%(max_columns)s 列）。请删除多余的列（包括没有内容但设了格式的列）后再导入")
                   % {"column": column, "letter": get_column_letter(min(column, 18278)), "max_rows": MAX_ROWS,
                      "max_columns": MAX_COLUMNS})


def _malformed(name: str) -> Refused:
    return Refused(_("文件中的“%(name)s”结构异常（嵌套过深或单元格地址无效），无法读取；请在 Excel 中“另存为”"
                     "新的 .xlsx 文件后再导入") % {"name": name})


def _coordinate(ref: str, name: str) -> tuple[int, int]:
    """(row, column) of a cell reference such as ``XFD1048576``."""
    match = COORDINATE.match(ref)
    if not match:
        raise _malformed(name)
    return int(match.group(2)), column_index_from_string(match.group(1).upper())


def _within(row: int, column: int) -> None:
    if row > MAX_ROWS:
        raise _rows_refused(row)
    if column > MAX_COLUMNS:
        raise _columns_refused(column)


def check_archive(archive: zipfile.ZipFile) -> None:
    """The zip's directory: few enough entries, none (nor all together) too big when inflated,
    none inflating suspiciously far."""
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise Refused(_("文件内部的部件太多（%(count)s 个，最多 %(limit)s 个），不像正常的 Excel 工作簿；"
                        "请在 Excel 中“另存为”新的 .xlsx 文件后再导入") % {"count": len(entries), "limit": MAX_ENTRIES})
    total = 0
    for info in entries:
        if info.file_size > MAX_ENTRY_BYTES:
            raise Refused(_("文件中的“%(name)s”解压后有 %(size)s，超过上限 %(limit)s；请删去多余内容或拆分文件后再导入")
                          % {"name": info.filename, "size": _megabytes(info.file_size),
                             "limit": _megabytes(MAX_ENTRY_BYTES)})
        if info.file_size > RATIO_GRACE_BYTES and info.file_size > MAX_RATIO * info.compress_size:
            ratio = info.file_size // max(info.compress_size, 1)
            raise Refused(_("文件中的“%(name)s”压缩比异常（%(ratio)s 倍，最多 %(limit)s 倍），不像正常的 Excel 工作簿，"
                            "已拒绝读取；请在 Excel 中“另存为”新的 .xlsx 文件后再导入")
                          % {"name": info.filename, "ratio": ratio, "limit": MAX_RATIO})
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise Refused(_("文件解压后共有 %(size)s，超过上限 %(limit)s；请拆分文件后再导入")
                      % {"size": _megabytes(total), "limit": _megabytes(MAX_TOTAL_BYTES)})


def scan_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[tuple[int, int, int, int]]:
    """Stream one entry as XML without keeping it: the ``<dimension>``, every row and cell and
    every merged range of a sheet must lie within the limits (an entry that is not XML — an
    image — is left alone: openpyxl will say so if a sheet points at it). Returns the entry's
    merged ranges."""
    name = info.filename
    merges: list[tuple[int, int, int, int]] = []
    merged_area = 0
    row_count = row_number = column = cells = 0
    stack = []
    with archive.open(info) as stream:
        try:
            for event, element in iterparse(stream, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    stack.append(element)
                    if len(stack) > MAX_XML_DEPTH:
                        raise _malformed(name)
                    if tag == ROW:
                        row_count += 1
                        ref = element.get("r")
                        try:
                            row_number = int(float(ref)) if ref else row_number + 1
                        except (ValueError, OverflowError):
                            raise _malformed(name) from None
                        column = cells = 0
                        _within(max(row_number, row_count), 1)
                    elif tag == CELL:
                        cells += 1
                        ref = element.get("r")
                        if ref:
                            cell_row, column = _coordinate(ref, name)
                            _within(cell_row, column)
                        else:
                            column += 1
                        _within(row_number, max(column, cells))
                    continue
                stack.pop()
                if tag == DIMENSION:
                    last = (element.get("ref") or "").split(":")[-1]
                    if COORDINATE.match(last):
                        _within(*_coordinate(last, name))
                elif tag == MERGE_CELL:
                    first, _sep, last = (element.get("ref") or "").partition(":")
                    (min_row, min_col), (max_row, max_col) = _coordinate(first, name), _coordinate(last or first, name)
                    _within(max_row, max_col)
                    merged_area += (abs(max_row - min_row) + 1) * (abs(max_col - min_col) + 1)
                    if merged_area > MAX_ROWS * MAX_COLUMNS:
                        raise Refused(_("工作表中的合并单元格太多（合计超过 %(limit)s 个单元格）；"
                                        "请取消不必要的合并后再导入") % {"limit": MAX_ROWS * MAX_COLUMNS})
                    merges.append((min(min_col, max_col), min(min_row, max_row), max(min_col, max_col),
                                   max(min_row, max_row)))
                if stack:
                    stack[-1].clear()  # what has been looked at is not kept
        except ParseError:
            return merges
    return merges


def read_first_sheet(data: bytes) -> FirstSheet:
    """The first sheet's values (and merged ranges) of an .xlsx given as bytes, after the checks
    above. Raises :class:`Refused`, or zipfile's/openpyxl's own errors for a damaged file."""
    if len(data) > MAX_FILE_BYTES:
        raise Refused(_("文件太大（%(size)s，最多 %(limit)s）；请拆分文件后再导入")
                      % {"size": _megabytes(len(data)), "limit": _megabytes(MAX_FILE_BYTES)})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        check_archive(archive)
        merges = {info.filename: scan_entry(archive, info) for info in archive.infolist()}
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        if not book.worksheets:
            raise Refused(_("工作簿里没有工作表"))
        sheet = book.worksheets[0]
        # The read-only sheet's part in the zip (openpyxl keeps it in ``_worksheet_path``).
        result = FirstSheet(title=sheet.title, merges=merges.get(sheet._worksheet_path, []))
        sheet.reset_dimensions()  # the file's own <dimension> may lie; read what is there
        for values in sheet.iter_rows(values_only=True):
            if len(result.rows) >= MAX_ROWS:
                raise _rows_refused(len(result.rows) + 1)
            if len(values) > MAX_COLUMNS:
                if any(value is not None for value in values[MAX_COLUMNS:]):
                    raise _columns_refused(len(values))
                values = values[:MAX_COLUMNS]
            result.rows.append(tuple(values))
    finally:
        book.close()
    return result
