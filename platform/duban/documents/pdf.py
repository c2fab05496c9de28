"""PDF through WeasyPrint from the Django templates ``documents/<kind>.html`` (falling back to
``documents/official.html``), with Noto Serif/Sans CJK SC named by file (``documents.fonts``) and
embedded (subset) in the file.

Every PDF is read back before anyone may number, store or send it (``check_pdf``): each font it
uses must be embedded, its Chinese must be set in the Simplified Chinese faces, and its text layer
must carry the Chinese of its title. A PDF that fails is rendered once more; if it fails again,
``DocumentNotPrinted`` is raised and the caller's transaction (which took the number) rolls back."""

from __future__ import annotations

import io
import logging
import re
from functools import cache

from django.template.loader import select_template
from django.utils.translation import gettext as _
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from duban.core.errors import Invalid
from duban.documents import fonts
from duban.documents.content import Verification, cn_date

logger = logging.getLogger(__name__)

TEXT_BLOCK_PT = 442  # 156 mm
OFFICE_TOP_PT = 35 * 72 / 25.4  # 35 mm


@cache
def _check_subsetter() -> None:
    """Without libharfbuzz-subset WeasyPrint subsets the (large) CJK fonts with fontTools,
    which takes seconds per document instead of a fraction of one."""
    try:
        from weasyprint.text.ffi import harfbuzz_subset  # noqa: PLC0415 — WeasyPrint loads Pango: only when printing
    except ImportError:  # pragma: no cover — another WeasyPrint layout
        return
    if harfbuzz_subset is None:
        logger.warning("libharfbuzz-subset is not installed: PDF font subsetting falls back to fontTools and "
                       "takes several seconds per document (Debian: apt-get install libharfbuzz-subset0)")


def _office_style(office: str) -> tuple[int, str, float]:
    """Font size and letter spacing of the issuing-office mark, so that it fits one line, and the
    space above it that puts its top 35 mm below the text block's top (文件格式, GB/T 9704 §7.2.2):
    the line box starts 0.32 of the size above the characters' top (half-leading and ascent)."""
    length = max(len(office), 1)
    size = max(18, min(32, TEXT_BLOCK_PT // length - 2))
    spacing = "0.1em" if length <= 8 else "0"
    return size, spacing, round(OFFICE_TOP_PT - 0.32 * size, 1)


def render_html(content: dict, verification: Verification | None) -> str:
    template = select_template([f"documents/{content['kind']}.html", "documents/official.html"])
    size, spacing, office_top = _office_style(content.get("office", ""))
    letter_office_top = round(-7 * 72 / 25.4 - 0.32 * size, 1)  # 信函格式: 30 mm from the page's top edge
    return template.render({
        "doc": content,
        "verification": verification,
        "date_cn": cn_date(content.get("date")),
        "office_size": size,
        "office_spacing": spacing,
        "office_top": office_top,
        "letter_office_top": letter_office_top,
        "font_faces": fonts.font_face_css(),
    })


class DocumentNotPrinted(Invalid):
    """A PDF that is not fit to issue (fonts missing or not embedded, Chinese text absent)."""

    def __init__(self, problem: str):
        super().__init__(_("文件未能正确生成（%(problem)s），未编号、未保存、未发送；请稍后重试，仍不成功请联系系统管理员。")
                         % {"problem": problem}, field="document")
        self.problem = problem


CJK = re.compile(r"[\u3400-\u9fff]")


def _font_family(data: bytes) -> str | None:
    try:
        names = TTFont(io.BytesIO(data), lazy=True)["name"]
        return names.getDebugName(16) or names.getDebugName(1)
    except Exception:  # (broad on purpose) a bare CFF or TrueType program without a name table
        return None


def check_pdf(pdf: bytes, title: str) -> None:
    """Refuse ``pdf`` unless every font is embedded, the Chinese is set in the Simplified Chinese
    faces, and the text layer holds the Chinese of ``title`` (raises ``DocumentNotPrinted``)."""
    try:
        reader = PdfReader(io.BytesIO(pdf))
        pages = list(reader.pages)
    except Exception as error:  # (broad on purpose) whatever pypdf finds wrong, the file is not fit
        raise DocumentNotPrinted(_("PDF文件无法读取：%(error)s") % {"error": type(error).__name__}) from error
    cjk_faces, not_embedded = set(), set()
    for page in pages:
        resources = page.get("/Resources")
        fonts_of_page = resources.get_object().get("/Font") if resources else None
        for font in (fonts_of_page.get_object().values() if fonts_of_page else ()):
            font = font.get_object()
            name = str(font.get("/BaseFont", "?")).lstrip("/")
            if font.get("/Subtype") == "/Type3":
                continue  # glyphs drawn in the file itself
            described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = described.get("/FontDescriptor")
            program = None
            if descriptor is not None:
                descriptor = descriptor.get_object()
                program = descriptor.get("/FontFile3") or descriptor.get("/FontFile2") or descriptor.get("/FontFile")
            if program is None:
                not_embedded.add(re.sub(r"^[A-Z]{6}\+", "", name))
                continue
            family = _font_family(program.get_object().get_data())
            if family and any(family.startswith(f) for f in fonts.CJK_FAMILIES):
                cjk_faces.add(family)
    if not_embedded:
        raise DocumentNotPrinted(_("字体未嵌入：%(fonts)s") % {"fonts": "、".join(sorted(not_embedded))})
    if not cjk_faces:
        raise DocumentNotPrinted(_("未使用简体中文字体（思源宋体/黑体）"))
    text = "".join(CJK.findall("".join(page.extract_text() or "" for page in pages)))
    wanted = "".join(CJK.findall(title or ""))
    if not text or (wanted and wanted not in text):
        raise DocumentNotPrinted(_("文字层中找不到标题“%(title)s”") % {"title": title})


_ready_for: tuple | None = None  # the font files (and their times) a probe last printed with
PROBE = ('<html lang="zh-CN"><head><meta charset="utf-8"><style>{faces} body {{ font-family: "Duban Serif"; }}'
         '</style></head><body><h1>督查督办</h1></body></html>')


def ready() -> None:
    """Raise ``DocumentNotPrinted`` unless this process can print a Chinese PDF now — called
    before a document number is taken, so that no number goes to a document that cannot be
    printed. A probe is printed and read back once per set of font files."""
    from weasyprint import HTML  # noqa: PLC0415 — WeasyPrint loads Pango (native libraries): only where a PDF is made

    global _ready_for
    try:
        found = fonts.ensure_fonts()
    except fonts.FontsMissing as error:
        raise DocumentNotPrinted(str(error)) from error
    key = tuple(sorted((str(path), path.stat().st_mtime_ns) for path in found.values()))
    if key == _ready_for:
        return
    check_pdf(HTML(string=PROBE.format(faces=fonts.font_face_css())).write_pdf(), "督查督办")
    _ready_for = key


RECORD_MARGIN_PX = 43 * 96 / 72  # .record's own margin-top (43 pt) in CSS pixels


def _record_at_the_foot(html: str):
    """Lay the document out with its 版记 (``.record``) at the foot of the last page (GB/T 9704
    §7.4: the 版记's last element on the last line): laid out once to see the space left below
    it, then again with that space above it. Returns WeasyPrint's rendered document."""
    from weasyprint import HTML  # noqa: PLC0415 — WeasyPrint loads Pango (native libraries): only where a PDF is made

    document = HTML(string=html, base_url=None).render()
    page = document.pages[-1]._page_box
    record = next((box for box in page.descendants() if getattr(box, "element", None) is not None
                   and "record" in (box.element.get("class") or "").split()), None)
    if record is None:
        return document
    space = (page.margin_top + page.height) - (record.position_y + record.margin_height())
    if space <= 1:
        return document
    lower = f'<style>.record {{ margin-top: {RECORD_MARGIN_PX + space - 1:.2f}px; }}</style></head>'
    return HTML(string=html.replace("</head>", lower, 1), base_url=None).render()


def render_pdf(content: dict, verification: Verification | None) -> bytes:
    """The PDF of ``content``, checked (``check_pdf``); rendered once more if the first fails."""
    _check_subsetter()
    try:
        html = render_html(content, verification)
        pdf = _record_at_the_foot(html).write_pdf()
        check_pdf(pdf, content.get("title", ""))
        return pdf
    except (DocumentNotPrinted, fonts.FontsMissing) as first:
        logger.warning("document %s failed its check, rendering again: %s", content.get("kind"), first)
    try:
        html = render_html(content, verification)
    except fonts.FontsMissing as error:
        raise DocumentNotPrinted(str(error)) from error
    pdf = _record_at_the_foot(html).write_pdf()
    check_pdf(pdf, content.get("title", ""))
    return pdf
