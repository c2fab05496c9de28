"""Issuing documents: number, verification code, content (with the plugins' context), PDF,
SHA-256 and the register row — once per subject; printing again returns the same document.

Numbers come from the county's numbered-document register (``matters.Notice``, per county, per
kind, per year): the assignment and supervision notices and circulars already have theirs (the
actions that issue them take one); a collection form takes its own when first printed, a weekly
report when it is issued. The annual table has no 发文字号; its snapshots are counted per year.
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
from django.db.models import Q, QuerySet
from django.utils import timezone

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core import clock
from duban.core.county import county, county_pack, next_value
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.documents import builders
from duban.documents.content import CONTENT_KEYS, Verification
from duban.documents.models import Document
from duban.documents.numbering import next_notice_number
from duban.documents.texts import document_text
from duban.matters.access import ALL_MATTERS_ROLES, visible_matters
from duban.matters.models import CollectionRound, Matter, Notice

CODE_RE = re.compile(r"^[A-Z2-7]{16}$")
NOTICE_KINDS = ("assignment_notice", "supervision_notice", "circular")
WORD_KINDS = ("collection_form", "assignment_notice", "supervision_notice", "weekly_report", "circular")
SCORE_READERS = (*ALL_MATTERS_ROLES, Role.COUNTY_LEADER)


# --- codes and URLs -------------------------------------------------------------------------
def new_code() -> str:
    """16 characters of base32 (80 random bits): unguessable, easy to read out and type."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def normalise_code(raw: str) -> str | None:
    code = re.sub(r"[\s-]", "", raw or "").upper()
    return code if CODE_RE.match(code) else None


def verification_url(code: str) -> str:
    from tenants.provisioning import county_url

    return f"{county_url(county())}verify/{code}/"


def verification(document: Document) -> Verification:
    return Verification(document.code, verification_url(document.code))


# --- the plugins' context ----------------------------------------------------------------------
def with_plugin_context(kind: str, content: dict, objects: dict | None = None) -> dict:
    """Call ``duban_document_context`` for the county's pack. Its implementations see the content
    (flat) with ``document_text`` and the records (``matter``, ``circular``, …); what they return
    is merged over it in order: a content key they return replaces it (``closing``, ``recipient``…),
    and any other key holding text (or a list of lines) is printed after the body (``extras``)."""
    from plugins.manager import active_plugin_manager

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


def _existing(kind: str, subject: str) -> Document | None:
    return Document.objects.filter(kind=kind, subject=subject).first()


def _issue(prepared: Prepared, *, actor) -> Document:
    from duban.documents.pdf import render_pdf

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
        existing = _existing(prepared.kind, prepared.subject)
        if existing is None:
            raise
        return existing
    audit.record(actor=actor, action="document.issue", obj=document, after={
        "kind": document.kind, "number": document.number, "title": document.title, "code": code,
        "sha256": document.sha256, "subject": document.subject})
    return document


def _office_only(actor, what: str):
    if getattr(actor, "role", None) not in ALL_MATTERS_ROLES:
        raise NotAllowed(f"only the supervision office {what}")


def _can_see_matter(actor, matter: Matter) -> bool:
    return visible_matters(actor).filter(pk=matter.pk).exists()


@transaction.atomic
def assignment_notice_document(matter: Matter | int, *, actor) -> Document:
    """《重点事项交办通知单》 of an assigned matter (its assignment notice)."""
    matter = _matter(matter, actor)
    notice = matter.notices.filter(kind="assignment_notice").order_by("id").first()
    if notice is None:
        raise Invalid(f"matter {matter.number} has not been assigned: it has no assignment notice yet",
                          field="matter")
    subject = f"notice:{notice.pk}"
    existing = _existing("assignment_notice", subject)
    if existing:
        return existing
    return _issue(Prepared("assignment_notice", subject, notice.year, notice.seq, notice.number,
                           matter.assigned_on or clock.today(), builders.assignment_notice(notice),
                           links={"matter": matter, "unit": notice.unit, "notice": notice},
                           objects={"matter": matter, "notice": notice}), actor=actor)


def _matter(matter, actor) -> Matter:
    if not isinstance(matter, Matter):
        try:
            matter = Matter.objects.get(pk=int(matter))
        except (Matter.DoesNotExist, TypeError, ValueError):
            raise NotFound(f"no matter {matter!r}") from None
    if not _can_see_matter(actor, matter):
        raise NotFound(f"no matter {matter.pk}")
    return matter


@transaction.atomic
def supervision_notice_document(step, *, actor) -> Document:
    """《督查督办通知单》 of a recorded written-notice step."""
    from duban.supervision.access import visible_steps
    from duban.supervision.models import EscalationStep

    if not isinstance(step, EscalationStep):
        step = visible_steps(actor).filter(pk=step).select_related("matter", "unit", "notice").first()
        if step is None:
            raise NotFound("no such step")
    elif not visible_steps(actor).filter(pk=step.pk).exists():
        raise NotFound(f"no step {step.pk}")
    if step.notice_id is None:
        raise Invalid("this step issued no supervision notice (only a recorded written-notice step does)",
                          field="step")
    notice = step.notice
    subject = f"notice:{notice.pk}"
    existing = _existing("supervision_notice", subject)
    if existing:
        return existing
    return _issue(Prepared("supervision_notice", subject, notice.year, notice.seq, notice.number,
                           step.recorded_on or clock.today(), builders.supervision_notice(notice),
                           links={"matter": step.matter, "unit": step.unit, "notice": notice},
                           objects={"matter": step.matter, "step": step, "notice": notice}), actor=actor)


@transaction.atomic
def circular_document(circular, *, actor) -> Document:
    """通报 of a published circular."""
    from duban.supervision.access import visible_circulars
    from duban.supervision.models import Circular

    pk = circular.pk if isinstance(circular, Circular) else circular
    circular = visible_circulars(actor).filter(pk=pk).select_related("notice").first()
    if circular is None:
        raise NotFound(f"no circular {pk}")
    if circular.notice_id is None:
        raise Invalid(f"circular {circular.pk} is a draft: it is numbered when the office leader publishes it",
                          field="circular")
    notice = circular.notice
    subject = f"notice:{notice.pk}"
    existing = _existing("circular", subject)
    if existing:
        return existing
    return _issue(Prepared("circular", subject, notice.year, notice.seq, notice.number,
                           circular.published_on or clock.today(), builders.circular(circular),
                           links={"circular": circular, "notice": notice},
                           objects={"circular": circular, "notice": notice}), actor=actor)


@transaction.atomic
def collection_form_document(round_, *, actor) -> Document:
    """《需要督办事项》 of a collection round; numbered when first printed."""
    _office_only(actor, "prints collection forms")
    if not isinstance(round_, CollectionRound):
        round_ = CollectionRound.objects.filter(pk=round_).first()
        if round_ is None:
            raise NotFound("no such collection round")
    subject = f"round:{round_.pk}"
    existing = _existing("collection_form", subject)
    if existing:
        return existing
    CollectionRound.objects.select_for_update().get(pk=round_.pk)  # one number per round
    existing = _existing("collection_form", subject)
    if existing:
        return existing
    on = timezone.localtime(round_.opened_at).date()
    seq, number = next_notice_number("collection_form", on.year)
    notice = Notice.objects.create(kind="collection_form", year=on.year, seq=seq, number=number, issued_by=actor)
    return _issue(Prepared("collection_form", subject, on.year, seq, number, on,
                           builders.collection_form(round_, number=number),
                           links={"round": round_, "notice": notice}, objects={"round": round_, "notice": notice}),
                  actor=actor)


def weekly_report_document(report, *, actor) -> Document:
    """《督查专报》 of an issued weekly report (called by ``do_issue_weekly_report``)."""
    subject = f"weekly_report:{report.pk}"
    existing = _existing("weekly_report", subject)
    if existing:
        return existing
    content = builders.weekly_report(report, leaders=_leader_names())
    return _issue(Prepared("weekly_report", subject, report.year, report.seq, report.number, report.issued_on,
                           content, links={"weekly_report": report, "notice": report.notice},
                           objects={"report": report, "notice": report.notice}), actor=actor)


def _leader_names() -> list[str]:
    from duban.accounts.models import User

    return [u.display_name for u in User.objects.filter(role=Role.COUNTY_LEADER, is_active=True).order_by("id")]


@transaction.atomic
def annual_assessment_document(year: int, *, actor, as_of: date | None = None) -> Document:
    """The annual assessment table as of today: a new document when the figures changed since
    the last one of the year, else that one."""
    from duban.reports.annual import annual_assessment

    if getattr(actor, "role", None) not in SCORE_READERS:
        raise NotAllowed("only the supervision office and county leaders read every unit's assessment")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise Invalid(f"{year!r} is not a plausible year", field="year")
    data = annual_assessment(year, as_of=as_of)
    content = builders.annual_assessment(data)
    figures = hashlib.sha256(repr([content["blocks"], content["title"], content["office"]]).encode()).hexdigest()[:16]
    subject = f"annual:{year}:{figures}"
    existing = _existing("annual_assessment", subject)
    if existing:
        return existing
    seq = next_value(f"document:annual_assessment:{year}")
    return _issue(Prepared("annual_assessment", subject, year, seq, "", data.as_of, content,
                           objects={"year": year, "assessment": data}), actor=actor)


def document_for(kind: str, obj, *, actor) -> Document:
    """One entry point: ``obj`` is a matter (assignment notice), a step (supervision notice),
    a circular, a collection round, a year (annual table) or an issued weekly report."""
    if kind == "assignment_notice":
        return assignment_notice_document(obj, actor=actor)
    if kind == "supervision_notice":
        return supervision_notice_document(obj, actor=actor)
    if kind == "circular":
        return circular_document(obj, actor=actor)
    if kind == "collection_form":
        return collection_form_document(obj, actor=actor)
    if kind == "annual_assessment":
        return annual_assessment_document(int(obj), actor=actor)
    if kind == "weekly_report":
        from duban.reports.models import WeeklyReport

        report = obj if isinstance(obj, WeeklyReport) else WeeklyReport.objects.filter(pk=obj).first()
        if report is None:
            raise NotFound("no such weekly report")
        document = report.documents.first()
        if document is None:
            raise Invalid("the weekly report is a draft: it becomes a document when it is issued", field="report")
        if not visible_documents(actor).filter(pk=document.pk).exists():
            raise NotFound("no such weekly report")
        return document
    raise Invalid(f"unknown document kind {kind!r}", field="kind")


# --- formats -----------------------------------------------------------------------------------
def pdf_bytes(document: Document) -> bytes:
    with document.pdf.open("rb") as handle:
        return handle.read()


def docx_bytes(document: Document) -> bytes:
    from duban.documents.word import render_docx

    return render_docx(document.content, verification(document))


def xlsx_bytes(document: Document) -> bytes:
    from duban.documents.excel import annual_xlsx

    if document.kind != "annual_assessment":
        raise Invalid("only the annual assessment table comes as Excel", field="format")
    return annual_xlsx(document.content, verification(document))


def preview_pdf(content: dict) -> bytes:
    """A PDF of content that is not issued (a draft report, the blank form): no number, no code."""
    from duban.documents.pdf import render_pdf

    content = with_plugin_context(content["kind"], {**content, "draft": content.get("draft", True)})
    return render_pdf(content, None)


# --- who sees which documents ----------------------------------------------------------------------
def visible_documents(user) -> QuerySet[Document]:
    qs = Document.objects.all()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if user.role in ALL_MATTERS_ROLES:
        return qs
    if user.role == Role.COUNTY_LEADER:
        return qs.filter(Q(kind__in=["weekly_report", "circular", "annual_assessment"])
                         | Q(round__leaders=user) | Q(matter__in=visible_matters(user).values("pk"))).distinct()
    if user.role == Role.UNIT_STAFF and user.unit_id:
        return qs.filter(Q(unit_id=user.unit_id)
                         | Q(kind="assignment_notice", matter__units__unit_id=user.unit_id)
                         | Q(kind="circular")
                         | Q(kind="weekly_report", weekly_report__named_units=user.unit_id)).distinct()
    return qs.none()


def access_document_by_id(user, document_id) -> Document:
    try:
        document_id = int(document_id)
    except (TypeError, ValueError):
        raise NotFound(f"no document {document_id!r}") from None
    document = visible_documents(user).filter(pk=document_id).first()
    if document is None:
        raise NotFound(f"no document {document_id}")
    return document
