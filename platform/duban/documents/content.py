"""The content of a document, independent of its format.

Builders (each area's ``documents.py``, on ``duban.documents.builders``) turn records into a
*content* dict — plain JSON, stored as the document's snapshot — and the renderers (``pdf``,
``word``, ``excel``) lay the same content out as PDF, Word or Excel. Keys:

``kind``, ``layout`` (``official`` 公文 · ``bulletin`` 简报-style 专报 · ``table`` a landscape
table), ``mark`` (a bulletin's red name, e.g. 督查专报), ``office`` (发文机关), ``number`` (发文字号),
``issue_line`` (bulletins: 〔2026〕第3期), ``title``, ``subtitle``, ``recipient`` (主送机关, without the
colon), ``blocks``, ``closing``, ``extras`` (lines from plugins), ``signature`` (署名 lines), ``date`` (成文日期, ISO),
``copy_to`` (抄送), ``distribution`` ([label, text] pairs: 报/送), ``printed_by`` (印发机关),
``draft`` (true for an unissued preview).

Blocks: ``{"type": "p", "text"}`` a paragraph · ``{"type": "h1"|"h2", "text"}`` headings
(一、 and （一）) · ``{"type": "fields", "rows": [[label, value], …]}`` a form table ·
``{"type": "table", "columns": […], "rows": [[…], …], "widths": [%…]?, "numeric": [i…]?}`` ·
``{"type": "note", "text"}`` small print.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

LAYOUTS = ("official", "bulletin", "table")
CONTENT_KEYS = ("layout", "format", "mark", "office", "number", "issue_line", "title", "subtitle", "recipient", "blocks",
                "closing", "signature", "date", "copy_to", "distribution", "printed_by")
CN_DIGITS = "〇一二三四五六七八九"
CN_ORDINALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五"]


@dataclass(frozen=True)
class Verification:
    code: str
    url: str

    @property
    def display_code(self) -> str:
        return "-".join(self.code[i:i + 4] for i in range(0, len(self.code), 4))


def cn_date(day: date | str | None) -> str:
    """2026年11月25日 — the 成文日期 form of GB/T 9704-2012 (Arabic numerals, no leading zeros)."""
    if day is None or day == "":
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day.year}年{day.month}月{day.day}日"


def cn_month_day(day: date | str) -> str:
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day.month}月{day.day}日"


def ordinal(index: int) -> str:
    """一, 二, … for headings (一、总体情况)."""
    return CN_ORDINALS[index] if 0 <= index < len(CN_ORDINALS) else str(index + 1)


def amount(value) -> str:
    """0.30 → 0.3; 0 → 0; for points in tables."""
    if value in (None, ""):
        return ""
    value = Decimal(str(value))
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def score(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def p(text: str) -> dict:
    return {"type": "p", "text": text}


def h1(text: str) -> dict:
    return {"type": "h1", "text": text}


def h2(text: str) -> dict:
    return {"type": "h2", "text": text}


def note(text: str) -> dict:
    return {"type": "note", "text": text}


def fields(rows: list[tuple[str, str]]) -> dict:
    return {"type": "fields", "rows": [[label, "" if value is None else str(value)] for label, value in rows]}


def table(columns: list[str], rows: list[list], *, widths: list[int] | None = None,
          numeric: list[int] | None = None) -> dict:
    block = {"type": "table", "columns": list(columns),
             "rows": [["" if cell is None else str(cell) for cell in row] for row in rows]}
    if widths:
        block["widths"] = list(widths)
    if numeric:
        block["numeric"] = list(numeric)
    return block


def paragraphs(text: str) -> list[dict]:
    """Free text → paragraphs (one per non-empty line)."""
    return [p(line.strip()) for line in (text or "").splitlines() if line.strip()]


def new(kind: str, *, office: str, title: str, number: str = "", layout: str = "official", **more) -> dict:
    content = {"kind": kind, "layout": layout, "format": "file", "mark": "", "office": office, "number": number,
               "issue_line": "", "title": title, "subtitle": "", "recipient": "", "blocks": [], "closing": "", "extras": [],
               "signature": [office], "date": "", "copy_to": [], "distribution": [], "printed_by": office, "draft": False}
    content.update(more)
    return content
