"""Documents as files: the one way the API answers a PDF, a Word or an Excel file.

``GET documents/{id}/download/`` and the routes that print a record's document the first time
it is asked for — a matter's assignment notice, a step's supervision notice, a circular, the
annual assessment table — as the web's pages do (the same ``<area>.documents`` functions, issued
once and then the same document), each with ``?format=`` among the formats the document has."""

from __future__ import annotations

import io
from collections.abc import Callable

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from duban.core.errors import Conflict, Invalid
from duban.documents import service as documents
from duban.documents.models import Document

FORMATS = {"pdf": ("application/pdf", documents.pdf_bytes),
           "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", documents.docx_bytes),
           "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", documents.xlsx_bytes)}


def format_field(*formats: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=list(formats), default=formats[0])


def format_parameter(*formats: str) -> OpenApiParameter:
    return OpenApiParameter("format", str, enum=list(formats), default=formats[0],
                            description="the file's format: " + ", ".join(formats))


def file_responses(*formats: str) -> dict:
    return {(200, FORMATS[fmt][0]): OpenApiResponse(OpenApiTypes.BINARY) for fmt in formats}


class PdfOrWordIn(serializers.Serializer):
    format = format_field("pdf", "docx")


def file_response(document: Document, fmt: str) -> FileResponse:
    """The document as ``fmt``; a format it does not come in is a 400 naming ``format``."""
    content_type, render = FORMATS[fmt]
    if fmt == "docx" and not documents.has_word(document.kind):
        raise serializers.ValidationError({"format": [_("这份公文没有Word版本，请下载PDF。")]})
    try:
        body = render(document)
    except (ValueError, LookupError) as exc:  # e.g. no Excel form of a notice
        raise serializers.ValidationError({"format": [str(exc)]}) from None
    return FileResponse(io.BytesIO(body), as_attachment=True, content_type=content_type,
                        filename=f"{document.number or document.title}.{fmt}")


def document_of(make: Callable[[], Document]) -> Document:
    """A record's document: ``make()`` issues it the first time, then returns the same one. A
    record with nothing to print yet (a draft circular, a matter not yet assigned) is a 409
    ``invalid_state`` saying why — the web's page answers 404 there."""
    try:
        return make()
    except Invalid as exc:
        error = Conflict(str(exc))
        error.code = "invalid_state"
        raise error from None
