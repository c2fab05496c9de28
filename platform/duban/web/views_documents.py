"""Documents (公文): the register of issued documents, one document and its files (PDF, Word,
Excel).

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from duban.core.county import county_pack
from duban.documents import service as documents
from duban.documents.access import access_document_by_id, visible_documents
from duban.documents.models import Document
from duban.documents.texts import document_text
from duban.web.shortcuts import (
    CONTENT_TYPES,
    download,
    page,
    paginate,
    query_without_page,
)

T = "web/supervision/"


def document_filename(document: Document, fmt: str) -> str:
    stem = f"{document.number} {document.title}" if document.number and document.number not in document.title \
        else document.title
    return f"{stem}.{fmt}"


def document_download(document: Document, fmt: str, *, inline: bool = False):
    if fmt == "pdf":
        data = documents.pdf_bytes(document)
    elif fmt == "docx" and documents.has_word(document.kind):
        data = documents.docx_bytes(document)
    elif fmt == "xlsx" and document.kind == "annual_assessment":
        data = documents.xlsx_bytes(document)
    else:
        raise Http404("no such format")
    return download(data, document_filename(document, fmt), fmt,
                    fallback=f"{document.kind}-{document.year}-{document.seq}.{fmt}", inline=inline)


def formats_of(document: Document) -> list[tuple[str, str]]:
    out = [("pdf", "PDF")]
    if documents.has_word(document.kind):
        out.append(("docx", "Word"))
    if document.kind == "annual_assessment":
        out.append(("xlsx", "Excel"))
    return out


def kind_label(kind: str) -> str:
    try:
        return document_text(kind).title
    except Exception:  # a kind the county's current pack no longer has
        return kind


# --- documents -----------------------------------------------------------------------------------
@page
@require_safe
def document_list(request):
    user = request.user
    qs = visible_documents(user)
    kinds = sorted(set(qs.values_list("kind", flat=True)))
    kind = request.GET.get("kind", "")
    year = request.GET.get("year", "")
    if kind in kinds:
        qs = qs.filter(kind=kind)
    if year.isdigit():
        qs = qs.filter(year=int(year))
    years = sorted(set(visible_documents(user).values_list("year", flat=True)), reverse=True)
    qs = qs.select_related("matter", "unit").order_by("-issued_on", "-id")
    page_obj = paginate(request, qs)
    labels = {k: kind_label(k) for k in kinds}
    return render(request, T + "document_list.html", {
        "page_obj": page_obj, "rows": [{"document": d, "kind_label": labels.get(d.kind, d.kind),
                                        "formats": formats_of(d)} for d in page_obj],
        "kinds": list(labels.items()), "kind": kind, "years": years, "year": year,
        "query": query_without_page(request),
    })


@page
@require_safe
def document_detail(request, document_id: int):
    document = access_document_by_id(request.user, document_id)
    return render(request, T + "document_detail.html", {
        "document": document, "kind_label": kind_label(document.kind), "formats": formats_of(document),
        "verify_url": f"/verify/{document.code}/", "pack_source": county_pack().source,
    })


@page
@require_safe
def document_file(request, document_id: int):
    document = access_document_by_id(request.user, document_id)
    fmt = request.GET.get("format", "pdf")
    if fmt not in CONTENT_TYPES:
        raise Http404("unknown format")
    return document_download(document, fmt, inline=request.GET.get("inline") == "1" and fmt == "pdf")
