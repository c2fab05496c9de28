"""Word (.docx) through python-docx: the same content as the PDF, on A4 with the GB/T 9704
margins. Chinese text needs the East-Asian font (``w:rFonts w:eastAsia``) set explicitly —
on the styles and on every run — or Word falls back to a Western font for it."""

from __future__ import annotations

import io

from docx import Document as Docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.run import Run

from duban.documents.content import Verification, cn_date

# The faces GB/T 9704 names, as county offices' machines have them (Word and WPS substitute a
# similar face where one is missing); the PDF embeds the free Noto faces instead (docs/documents.md).
FANGSONG = "仿宋_GB2312"     # body text (3号仿宋)
XIAOBIAOSONG = "方正小标宋简体"  # the issuing office's mark and the title (小标宋)
HEITI = "黑体"               # first-level headings, table headers
KAITI = "楷体_GB2312"        # second-level headings
SERIF, SANS = FANGSONG, HEITI
RED = RGBColor(0xE6, 0x00, 0x12)
BODY_PT = 16  # 3号
TITLE_PT = 22  # 2号
LINE_PT = 28.9  # 22 lines in the 225 mm text block


def set_font(target, name: str = SERIF) -> None:
    """Set every script's font of a style or run, the East-Asian one included."""
    target.font.name = name
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _run(paragraph, text: str, *, size: float = BODY_PT, bold: bool = False, color: RGBColor | None = None,
         font: str = SERIF):
    run = paragraph.add_run(text)
    set_font(run, font)
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    return run


def _paragraph(doc, text: str = "", *, align=None, indent: bool = False, size: float = BODY_PT, bold: bool = False,
               color: RGBColor | None = None, font: str = SERIF, before: float = 0, line: float | None = LINE_PT):
    paragraph = doc.add_paragraph()
    fmt = paragraph.paragraph_format
    if align is not None:
        paragraph.alignment = align
    if indent:
        fmt.first_line_indent = Pt(size * 2)
    fmt.space_before, fmt.space_after = Pt(before), Pt(0)
    if line:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(max(line, size * 1.3))
    if text:
        _run(paragraph, text, size=size, bold=bold, color=color, font=font)
    return paragraph


def _border(paragraph, side: str, *, size_eighths: int, color: str = "000000") -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    edge = OxmlElement(f"w:{side}")
    for key, value in (("w:val", "single"), ("w:sz", str(size_eighths)), ("w:space", "1"), ("w:color", color)):
        edge.set(qn(key), value)
    borders.append(edge)


def _field(paragraph, instruction: str, *, size: float) -> None:
    """A Word field (e.g. PAGE) as a simple field element holding a run."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    field.append(run)
    paragraph._p.append(field)
    wrapped = Run(run, paragraph)
    wrapped.text = "1"
    set_font(wrapped, SERIF)
    wrapped.font.size = Pt(size)


def _cell(cell, text: str, *, size: float = 12, align=None, font: str = SERIF) -> None:
    cell.text = ""
    paragraph = cell.paragraphs[0]
    if align is not None:
        paragraph.alignment = align
    _run(paragraph, text, size=size, font=font)


def _table(doc, columns: list[str] | None, rows: list[list[str]], *, numeric=(), label_column: bool = False,
           widths: list[int] | None = None, text_width_mm: float = 156, row_height_mm: float | None = None) -> None:
    count = len(columns) if columns else len(rows[0]) if rows else 1
    table = doc.add_table(rows=0, cols=count)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    size = 14 if label_column else 12
    if columns:
        cells = table.add_row().cells
        for index, column in enumerate(columns):
            _cell(cells[index], column, size=size, align=WD_ALIGN_PARAGRAPH.CENTER, font=SANS)
    for row in rows:
        added = table.add_row()
        if row_height_mm:
            added.height = Mm(row_height_mm)
        cells = added.cells
        for index, value in enumerate(row):
            align = WD_ALIGN_PARAGRAPH.CENTER if (index in numeric or (label_column and index == 0)) else None
            _cell(cells[index], value, size=size, align=align, font=SANS if label_column and index == 0 else SERIF)
    if label_column:
        widths = [28, 72]
    if widths:
        for row in table.rows:
            for index, cell in enumerate(row.cells):
                if index < len(widths):
                    cell.width = Mm(text_width_mm * widths[index] / 100)


def _setup(doc, landscape: bool) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
        section.top_margin, section.bottom_margin = Mm(28), Mm(30)
    else:
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(18)
    for name in ("Normal", "Table Grid"):
        style = doc.styles[name]
        set_font(style, SERIF)
        if name == "Normal":
            style.font.size = Pt(BODY_PT)


def _footer(doc, verification: Verification | None, *, draft: bool, letter: bool = False) -> None:
    """Page numbers “— 1 —” in 4号, right on odd pages and left on even ones (GB/T 9704 §7.5);
    信函格式: none on page one. Every footer carries the verification code."""
    section = doc.sections[0]
    doc.settings.odd_and_even_pages_header_footer = True
    section.different_first_page_header_footer = letter
    text = (f"核验码 {verification.display_code} · 核验网址 {verification.url}" if verification
            else "草稿，未印发，不作正式文件使用" if draft else "")
    footers = [(section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)]
    if letter:
        footers.append((section.first_page_footer, None))
    for footer, side in footers:
        footer.is_linked_to_previous = False
        page = footer.paragraphs[0]
        if side is not None:
            page.alignment = side
            _run(page, "— ", size=14)
            _field(page, "PAGE", size=14)
            _run(page, " —", size=14)
        if text:
            line = footer.add_paragraph()
            line.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _run(line, text, size=7.5, font=SANS)


def render_docx(content: dict, verification: Verification | None) -> bytes:
    doc = Docx()
    landscape = content.get("layout") == "table"
    _setup(doc, landscape)
    width = 243 if landscape else 156
    date_cn = cn_date(content.get("date"))
    center = WD_ALIGN_PARAGRAPH.CENTER
    # 版头
    if content.get("layout") == "bulletin":
        _paragraph(doc, content.get("mark") or content["title"], align=center, size=42, bold=True, color=RED, line=None,
                   font=XIAOBIAOSONG)
        _paragraph(doc, content.get("issue_line", ""), align=center, before=8)
        line = _paragraph(doc, before=8)
        line.paragraph_format.tab_stops.add_tab_stop(Mm(width), alignment=WD_TAB_ALIGNMENT.RIGHT)
        _run(line, f"{content['office']}\t{date_cn}")
        _border(line, "bottom", size_eighths=20, color="E60012")
    else:
        office = content["office"]
        size = max(18, min(32, 442 // max(len(office), 1) - 2))
        _paragraph(doc, office, align=center, size=size, bold=True, color=RED, line=None, font=XIAOBIAOSONG)
        number = _paragraph(doc, content.get("number", ""), align=center, before=20)
        _border(number, "bottom", size_eighths=16, color="E60012")
    if content.get("draft"):
        _paragraph(doc, "（草稿）", align=center, size=12, color=RED, font=SANS)
    _paragraph(doc, content["title"], align=center, size=TITLE_PT, bold=True, before=LINE_PT * 2, line=33,
               font=XIAOBIAOSONG)
    if content.get("subtitle"):
        _paragraph(doc, content["subtitle"], align=center)
    if content.get("recipient"):
        _paragraph(doc, f"{content['recipient']}：", before=LINE_PT)
    else:
        _paragraph(doc)
    for block in content.get("blocks", []):
        kind = block["type"]
        if kind == "p":
            _paragraph(doc, block["text"], indent=True)
        elif kind == "h1":
            _paragraph(doc, block["text"], indent=True, font=SANS)
        elif kind == "h2":
            _paragraph(doc, block["text"], indent=True, font=KAITI)
        elif kind == "note":
            _paragraph(doc, block["text"], size=10.5, line=16, before=4)
        elif kind == "fields":
            _table(doc, None, block["rows"], label_column=True, text_width_mm=width)
        elif kind == "table":
            _table(doc, block["columns"], block["rows"], numeric=set(block.get("numeric", [])),
                   widths=block.get("widths"), text_width_mm=width,
                   row_height_mm=12 if content.get("kind") == "collection_form" else None)
    if content.get("closing"):
        _paragraph(doc, content["closing"], indent=True)
    for line in content.get("extras", []):
        _paragraph(doc, line, indent=True)
    # 署名 and 成文日期, right-aligned four characters in.
    if content.get("layout") != "bulletin":
        for index, line in enumerate([*content.get("signature", []), date_cn]):
            paragraph = _paragraph(doc, line, align=WD_ALIGN_PARAGRAPH.RIGHT, before=LINE_PT * 1.5 if index == 0 else 0)
            paragraph.paragraph_format.right_indent = Pt(BODY_PT * 4)
    # 版记
    if content.get("layout") != "table":
        lines = []
        if content.get("copy_to"):
            lines.append(f"抄送：{'，'.join(content['copy_to'])}。")
        lines += [f"{label}：{text}。" for label, text in content.get("distribution", [])]
        lines.append(f"{content.get('printed_by', '')}\t{date_cn}印发")
        for index, text in enumerate(lines):
            paragraph = _paragraph(doc, text, size=14, line=22, before=LINE_PT * 1.5 if index == 0 else 0)
            paragraph.paragraph_format.tab_stops.add_tab_stop(Mm(width) - Pt(28), alignment=WD_TAB_ALIGNMENT.RIGHT)
            paragraph.paragraph_format.left_indent = Pt(14)
            if index == 0:
                _border(paragraph, "top", size_eighths=8)
            _border(paragraph, "bottom", size_eighths=8 if index == len(lines) - 1 else 4)
    _footer(doc, verification, draft=bool(content.get("draft")), letter=content.get("format") == "letter")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
