"""Excel (.xlsx) through openpyxl: the annual assessment table (from the same content as its PDF,
numbers as numbers) and lists such as the register book of matters (登记簿). Built with
``duban.core.spreadsheet``, which keeps every name and title text (never a formula)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from duban.core.spreadsheet import new_workbook, put, workbook_bytes
from duban.documents.content import Verification, cn_date

FONT = "Noto Sans CJK SC"
THIN = Side(style="thin", color="000000")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP = Alignment(vertical="center", wrap_text=True)


def _number(text):
    if not isinstance(text, str):
        return text
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return text
    return int(value) if value == value.to_integral_value() and "." not in text else value


def _sheet_table(ws, first_row: int, columns: list[str], rows: list[list], *, numeric=(), widths=None) -> int:
    for index, column in enumerate(columns, 1):
        cell = put(ws, first_row, index, column)
        cell.font, cell.alignment, cell.border = Font(name=FONT, bold=True, size=11), CENTER, GRID
    for r, row in enumerate(rows, first_row + 1):
        for c, value in enumerate(row, 1):
            numeric_cell = (c - 1) in numeric
            cell = put(ws, r, c, _number(value) if numeric_cell and value != "" else value)
            cell.font, cell.border = Font(name=FONT, size=11), GRID
            cell.alignment = CENTER if numeric_cell else WRAP
            if numeric_cell and isinstance(cell.value, Decimal):
                cell.number_format = "0.00"
    for index, column in enumerate(columns, 1):
        width = (widths[index - 1] if widths and index - 1 < len(widths) else max(8, len(column) * 2 + 2))
        ws.column_dimensions[get_column_letter(index)].width = width
    return first_row + len(rows)


def annual_xlsx(content: dict, verification: Verification | None) -> bytes:
    """The annual table: title, office and date, then one row per unit (numbers are numbers)."""
    table = next(block for block in content["blocks"] if block["type"] == "table")
    wb, ws = new_workbook("年度考评")
    columns = table["columns"]
    last = get_column_letter(len(columns))
    ws.merge_cells(f"A1:{last}1")
    cell = put(ws, 1, 1, content["title"])
    cell.font, cell.alignment = Font(name=FONT, bold=True, size=16), CENTER
    ws.row_dimensions[1].height = 30
    ws.merge_cells(f"A2:{last}2")
    cell = put(ws, 2, 1, f"{content['office']}　{cn_date(content.get('date'))}")
    cell.font, cell.alignment = Font(name=FONT, size=11), CENTER
    widths = [6, 6, 22, 8, 8, *([12] * (len(columns) - 7)), 10, 10]
    end = _sheet_table(ws, 3, columns, table["rows"], numeric=set(table.get("numeric", [])), widths=widths)
    notes = [block["text"] for block in content["blocks"] if block["type"] == "note"]
    row = end + 2
    for text in notes:
        ws.merge_cells(f"A{row}:{last}{row}")
        cell = put(ws, row, 1, text)
        cell.font, cell.alignment = Font(name=FONT, size=10), WRAP
        ws.row_dimensions[row].height = 45
        row += 1
    if verification:
        ws.merge_cells(f"A{row}:{last}{row}")
        put(ws, row, 1, f"核验码 {verification.display_code} · 核验网址 {verification.url}").font = \
            Font(name=FONT, size=9, color="444444")
    ws.freeze_panes = "D4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.print_title_rows = "3:3"
    return workbook_bytes(wb)


def register_book_xlsx() -> bytes:
    """The register book (登记造册): every matter with its category, units, deadline and state."""
    from duban.core.county import county, county_pack
    from duban.matters.models import Matter, MatterUnit

    pack = county_pack()
    wb, ws = new_workbook("督办事项登记簿")
    columns = ["登记编号", "事项名称", "督办类别", "事项来源", "提出领导", "立项领导", "牵头单位", "协办单位", "交办文号",
               "交办日期", "办结时限", "状态", "复办次数"]
    rows = []
    matters = (Matter.objects.select_related("proposed_by", "approved_by")
               .prefetch_related("units__unit", "notices").order_by("number"))
    for m in matters:
        links = list(m.units.all())
        lead = next((link.unit.name for link in links if link.role == MatterUnit.Role.LEAD), "")
        cos = "、".join(link.unit.name for link in links if link.role == MatterUnit.Role.CO)
        notice = next((n.number for n in m.notices.all() if n.kind == "assignment_notice"), "")
        category = pack.category(m.category)
        rows.append([m.number, m.title, category.label.zh if category else m.category, m.source_reference,
                     m.proposed_by.display_name, m.approved_by.display_name if m.approved_by else "", lead, cos, notice,
                     m.assigned_on.isoformat() if m.assigned_on else "", m.deadline.isoformat() if m.deadline else "",
                     str(m.get_state_display()), m.redo_count])
    ws.merge_cells(f"A1:{get_column_letter(len(columns))}1")
    cell = put(ws, 1, 1, f"{county().name}督办事项登记簿")
    cell.font, cell.alignment = Font(name=FONT, bold=True, size=16), CENTER
    _sheet_table(ws, 2, columns, rows, numeric={0, 9, 10, 11, 12},
                 widths=[12, 34, 24, 16, 10, 10, 18, 22, 20, 12, 12, 10, 8])
    ws.freeze_panes = "C3"
    return workbook_bytes(wb)
