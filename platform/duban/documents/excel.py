"""Excel (.xlsx) of a document: the annual assessment table, from the same content as its PDF
(numbers as numbers). Written by ``duban.core.spreadsheet.table_xlsx``, the one writer of every
export, which keeps every name and title text (never a formula)."""

from __future__ import annotations

from duban.core.spreadsheet import Line, table_xlsx
from duban.documents.content import Verification, cn_date


def annual_xlsx(content: dict, verification: Verification | None) -> bytes:
    """The annual table: title, office and date, then one row per unit (numbers are numbers)."""
    table = next(block for block in content["blocks"] if block["type"] == "table")
    columns = table["columns"]
    notes = [Line(block["text"], size=10, height=45, align="wrap")
             for block in content["blocks"] if block["type"] == "note"]
    if verification:
        notes.append(Line(f"核验码 {verification.display_code} · 核验网址 {verification.url}", size=9, color="444444",
                          align=None))
    return table_xlsx(
        "年度考评", columns, table["rows"], numeric=table.get("numeric", []),
        widths=[6, 6, 22, 8, 8, *([12] * (len(columns) - 7)), 10, 10], frozen_columns=3, grid=True, landscape=True,
        headings=[Line(content["title"], size=16, bold=True, height=30),
                  Line(f"{content['office']}　{cn_date(content.get('date'))}")],
        notes=notes)
