"""Issuing documents: number, verification code, content (with the plugins' context), PDF,
SHA-256 and the register row — once per subject; printing again returns the same document.

The areas build their kinds' content (``<area>/documents.py``, registered in ``registry``) and
hand it here to be issued (:func:`issue`). Numbers come from the county's numbered-document
register (``matters.Notice``, per county, per kind, per year): the assignment and supervision
notices and circulars already have theirs (the actions that issue them take one); a collection
form takes its own when first printed, a weekly report when it is issued. The annual table has
no 发文字号; its snapshots are counted per year.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.county import county, county_pack
from duban.core.errors import Invalid
from duban.documents import registry
from duban.documents.content import CONTENT_KEYS, Verification
from duban.documents.models import Document
from duban.documents.pdf import render_pdf
from duban.documents.texts import document_text
from duban.documents.word import render_docx
from plugins.manager import active_plugin_manager
from tenants.provisioning import county_url

CODE_RE = re.compile(r"^[A-Z2-7]{16}$")


# --- codes and URLs -------------------------------------------------------------------------
def new_code() -> str:
    """16 characters of base32 (80 random bits): unguessable, easy to read out and type."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def normalise_code(raw: str) -> str | None:
    code = re.sub(r"[\s-]", "", raw or "").upper()
    return code if CODE_RE.match(code) else None


def verification_url(code: str) -> str:
    return f"{county_url(county())}verify/{code}/"


def verification(document: Document) -> Verification:
    return Verification(document.code, verification_url(document.code))


# --- the plugins' context ----------------------------------------------------------------------
def with_plugin_context(kind: str, content: dict, objects: dict | None = None) -> dict:
    """Call ``duban_document_context`` for the county's pack. Its implementations see the content
    (flat) with ``document_text`` and the records (``matter``, ``circular``, …); what they return
    is merged over it in order: a content key they return replaces it (``closing``, ``recipient``…),
    and any other key holding text (or a list of lines) is printed after the body (``extras``)."""
    pack = county_pack()
    the_county = county()
    context = {**content, "document_text": document_text(kind, pack=pack), "county_name": the_county.name,
               "county_slug": the_county.slug, **(objects or {})}
    merged = dict(context)
    for result in active_plugin_manager().hook.duban_document_context(pack=pack, document=kind, context=dict(context)):
        if result:
            merged.update(result)
    out = dict(content)
    for key in CONTENT_KEYS:
        if key in merged:
            out[key] = merged[key]
    extras = list(content.get("extras") or [])
    for key, value in merged.items():
        if key in context:
            continue
        if isinstance(value, str) and value.strip():
            extras.append(value.strip())
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
            extras += [v.strip() for v in value if v.strip()]
    out["extras"] = extras
    return out


# --- issuing -----------------------------------------------------------------------------------
@dataclass
class Prepared:
    """A document ready to issue: its kind and subject (what it is of, e.g. ``notice:12``), number,
    date and content; ``links`` are the register row's foreign keys (``matter``, ``notice``, …),
    ``objects`` the records the plugins' context sees."""

    kind: str
    subject: str
    year: int
    seq: int
    number: str
    issued_on: date
    content: dict
    links: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)


def _user(actor):
    return actor if hasattr(actor, "_meta") else None


def existing(kind: str, subject: str) -> Document | None:
    """The document of ``kind`` already issued for ``subject``, if any."""
    return Document.objects.filter(kind=kind, subject=subject).first()


def issue(prepared: Prepared, *, actor) -> Document:
    """Issue ``prepared``: the plugins' context, a verification code, the PDF (checked), the
    register row and the audit row. Run it inside the transaction that took the number."""
    pack = county_pack()
    content = with_plugin_context(prepared.kind, prepared.content, prepared.objects)
    code = new_code()
    pdf = render_pdf(content, Verification(code, verification_url(code)))
    document = Document(
        kind=prepared.kind, subject=prepared.subject, year=prepared.year, seq=prepared.seq, number=prepared.number,
        title=content["title"][:200], issuing_office=content["office"][:100], issued_on=prepared.issued_on, code=code,
        sha256=hashlib.sha256(pdf).hexdigest(), content=content, pack_name=pack.name, pack_version=pack.version,
        created_by=_user(actor), **prepared.links)
    document.pdf.save(f"{code}.pdf", ContentFile(pdf), save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:  # printed at the same moment by someone else: theirs stands
        document.pdf.storage.delete(document.pdf.name)
        already = existing(prepared.kind, prepared.subject)
        if already is None:
            raise
        return already
    audit.record(actor=actor, action="document.issue", obj=document, after={
        "kind": document.kind, "number": document.number, "title": document.title, "code": code,
        "sha256": document.sha256, "subject": document.subject})
    return document


def document_for(kind: str, obj, *, actor) -> Document:
    """One entry point: ``obj`` is a matter (assignment notice), a step (supervision notice),
    a circular, a collection round, a year (annual table) or an issued weekly report — each kind
    as its area registered it (``registry``)."""
    return registry.get(kind).document(obj, actor=actor)


# --- formats -----------------------------------------------------------------------------------
def has_word(kind: str) -> bool:
    """Whether documents of ``kind`` come as Word too."""
    try:
        return registry.get(kind).word
    except Invalid:
        return False


def pdf_bytes(document: Document) -> bytes:
    with document.pdf.open("rb") as handle:
        return handle.read()


def docx_bytes(document: Document) -> bytes:
    return render_docx(document.content, verification(document))


def xlsx_bytes(document: Document) -> bytes:
    try:
        render = registry.get(document.kind).xlsx
    except Invalid:
        render = None
    if render is None:
        raise Invalid(_("只有年度考核表可以导出为Excel。"), field="format")
    return render(document.content, verification(document))


def preview_pdf(content: dict) -> bytes:
    """A PDF of content that is not issued (a draft report, the blank form): no number, no code."""
    content = with_plugin_context(content["kind"], {**content, "draft": content.get("draft", True)})
    return render_pdf(content, None)
