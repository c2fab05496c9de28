"""PDF through WeasyPrint from the Django templates ``documents/<kind>.html`` (falling back to
``documents/official.html``), with Noto Serif/Sans CJK SC found through fontconfig and embedded
(subset) in the file."""

from __future__ import annotations

import logging
from functools import cache

from django.template.loader import select_template

from duban.documents.content import Verification, cn_date

logger = logging.getLogger(__name__)

TEXT_BLOCK_PT = 442  # 156 mm


@cache
def _check_subsetter() -> None:
    """Without libharfbuzz-subset WeasyPrint subsets the (large) CJK fonts with fontTools,
    which takes seconds per document instead of a fraction of one."""
    try:
        from weasyprint.text.ffi import harfbuzz_subset
    except ImportError:  # pragma: no cover — another WeasyPrint layout
        return
    if harfbuzz_subset is None:
        logger.warning("libharfbuzz-subset is not installed: PDF font subsetting falls back to fontTools and "
                       "takes several seconds per document (Debian: apt-get install libharfbuzz-subset0)")


def _office_style(office: str) -> tuple[int, str]:
    """Font size and letter spacing of the issuing-office mark, so that it fits one line."""
    length = max(len(office), 1)
    size = max(18, min(32, TEXT_BLOCK_PT // length - 2))
    spacing = "0.1em" if length <= 8 else "0"
    return size, spacing


def render_html(content: dict, verification: Verification | None) -> str:
    template = select_template([f"documents/{content['kind']}.html", "documents/official.html"])
    size, spacing = _office_style(content.get("office", ""))
    return template.render({
        "doc": content,
        "verification": verification,
        "date_cn": cn_date(content.get("date")),
        "office_size": size,
        "office_spacing": spacing,
    })


def render_pdf(content: dict, verification: Verification | None) -> bytes:
    from weasyprint import HTML

    _check_subsetter()
    html = render_html(content, verification)
    return HTML(string=html, base_url=None).write_pdf()
