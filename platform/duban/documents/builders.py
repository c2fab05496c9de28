"""What every kind's builder shares: records → the content of a document (see ``content``).

Each kind's builder lives in the area whose records it reads (``matters.documents``,
``supervision.documents``, ``reports.documents``). Every fixed text comes from the county's text
of the document (the pack's ``documents`` with the county's overrides, ``texts.document_text``);
where the pack leaves a text empty the builders write a plain default sentence. Builders read,
never write.
"""

from __future__ import annotations

from datetime import date

from duban.core import clock
from duban.documents import content as C


def signature(text) -> list[str]:
    return list(text.signature_lines) or [text.issuing_office]


def base(kind: str, text, *, number: str = "", title: str | None = None, layout: str = "official",
         on: date | None = None) -> dict:
    """The content every document starts from: the county's text of ``kind`` (office, title,
    signature, copy-to, closing, format) and its heading, if the county has one."""
    doc = C.new(kind, office=text.issuing_office, title=title or text.title, number=number, layout=layout,
                signature=signature(text), copy_to=list(text.copy_to), closing=text.closing, format=text.format,
                date=(on or clock.today()).isoformat())
    if text.heading:
        doc["blocks"].append(C.p(text.heading))
    return doc


def source(pack) -> str:
    """The regulation the documents cite: the pack's source, or a plain phrase."""
    return f"《{pack.source}》" if pack.source else "督查督办工作有关规定"
