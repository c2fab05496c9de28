"""The verification page: anyone holding a printed copy checks that it is authentic, without
logging in. It shows only what is printed on the document itself (kind, number, title, date,
issuing office) and the start of the PDF's SHA-256; an unknown code is a plain 404."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from duban.documents.content import cn_date
from duban.documents.models import Document
from duban.documents.service import normalise_code
from duban.documents.texts import document_text


def _kind_label(kind: str) -> str:
    try:
        return document_text(kind).title
    except Exception:  # (broad on purpose) a kind the county's current pack no longer has
        return kind


@never_cache
@require_safe
def verify(request, code: str):
    normal = normalise_code(code)
    document = Document.objects.filter(code=normal).first() if normal else None
    if document is None:
        raise Http404("no such document")
    response = render(request, "documents/verify.html", {
        "document": document,
        "kind_label": _kind_label(document.kind),
        "issued_on": cn_date(document.issued_on),
        "sha_prefix": document.sha256[:16],
    })
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
