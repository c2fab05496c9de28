"""Numbers of the county's registers of issued documents (交办通知单、督办通知、通报 …): taken
only when a document can be printed now, so no number is spent on a document that cannot be
issued."""

from __future__ import annotations

from duban.core.county import county, county_pack, next_value
from duban.documents.pdf import ready


def next_notice_number(kind: str, year: int) -> tuple[int, str]:
    """The next number of the county's register for ``kind`` — only if a document can be printed
    now (``documents.pdf.ready``: the Chinese fonts are there and a probe reads back)."""
    ready()
    pack = county_pack()
    text = pack.document(kind)
    seq = next_value(f"notice:{kind}:{year}")
    # The county's 发文机关代字 (its setting, tenants.County.abbreviation) and the pack's 代字 for the kind.
    prefix = (county().abbreviation + text.number_prefix) if text and text.number_prefix else ""
    return seq, f"{prefix}〔{year}〕{seq}号"
