"""Files attached to a matter, a feedback or a result report (附件).

Only the people who work the matter may attach: unit staff of a unit the matter is assigned
to, supervision staff and the office leader. A file is accepted when its name has an allowed
extension *and* its first bytes say it is that kind of file (a renamed ``.exe`` is refused),
and when it is not empty and not larger than ``DUBAN_MAX_UPLOAD_MB``. The stored row keeps the
original name, the size, the type we determined (never the browser's claim) and the SHA-256;
the file itself goes to default storage under ``counties/<schema>/attachments/…``.
"""

from __future__ import annotations

import codecs
import hashlib
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.db import transaction

from duban.accounts.models import Role
from duban.audit import log as audit
from duban.core.errors import Invalid, NotAllowed, NotFound
from duban.matters import access
from duban.matters.models import Attachment, Feedback, MatterUnit
from duban.matters.states import TERMINAL, State

ATTACHING_ROLES = (Role.UNIT_STAFF, Role.SUPERVISION_STAFF, Role.OFFICE_LEADER)

PDF = b"%PDF-"
ZIP = b"PK\x03\x04"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: .doc, .xls
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"


@dataclass(frozen=True)
class FileType:
    label: str
    content_type: str
    magic: bytes | None  # None: plain text, checked by decoding
    ooxml_folder: str = ""  # for .docx/.xlsx/.pptx: the folder the main part lives in


FILE_TYPES: dict[str, FileType] = {
    ".pdf": FileType("a PDF file", "application/pdf", PDF),
    ".docx": FileType("a Word document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                      ZIP, "word/"),
    ".xlsx": FileType("an Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      ZIP, "xl/"),
    ".pptx": FileType("a PowerPoint presentation",
                      "application/vnd.openxmlformats-officedocument.presentationml.presentation", ZIP, "ppt/"),
    ".doc": FileType("a Word 97-2003 document", "application/msword", OLE),
    ".xls": FileType("an Excel 97-2003 workbook", "application/vnd.ms-excel", OLE),
    ".png": FileType("a PNG image", "image/png", PNG),
    ".jpg": FileType("a JPEG image", "image/jpeg", JPEG),
    ".jpeg": FileType("a JPEG image", "image/jpeg", JPEG),
    ".txt": FileType("plain text", "text/plain", None),
}
ALLOWED_TEXT = ("PDF (.pdf), Word (.doc, .docx), Excel (.xls, .xlsx), PowerPoint (.pptx), images (.png, .jpg, "
                ".jpeg) and plain text (.txt, UTF-8 or GB18030)")
TEXT_ENCODINGS = ("utf-8", "gb18030")
CHUNK = 64 * 1024


def max_upload_bytes() -> int:
    return settings.DUBAN_MAX_UPLOAD_MB * 1024 * 1024


def _limit_text() -> str:
    return f"{settings.DUBAN_MAX_UPLOAD_MB} MB"


def clean_name(name: str | None) -> str:
    """The file's own name: no folders (either slash), no control characters, at most 255
    characters with the extension kept."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 255:
        suffix = PurePath(name).suffix[:16]
        name = name[:255 - len(suffix)] + suffix
    return name


@dataclass(frozen=True)
class Checked:
    name: str
    size: int
    sha256: str
    content_type: str


def check_upload(upload) -> Checked:
    """Validate an uploaded file (size, extension, content); return what to store.
    Raises :class:`Invalid` (field ``file``) saying what is wrong and what is allowed."""
    if upload is None:
        raise Invalid("choose a file to attach", field="file")
    name = clean_name(getattr(upload, "name", ""))
    if not name:
        raise Invalid("the file has no name", field="file")
    suffix = PurePath(name).suffix.lower()
    kind = FILE_TYPES.get(suffix)
    if kind is None:
        shown = f"{suffix} files" if suffix else "files without an extension"
        raise Invalid(f"{shown} cannot be attached; allowed: {ALLOWED_TEXT}", field="file")
    limit = max_upload_bytes()
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise Invalid(f"{name} is {declared / 1024 / 1024:.1f} MB; the limit is {_limit_text()}", field="file")

    digest, size, head = hashlib.sha256(), 0, b""
    decoders = ({enc: codecs.getincrementaldecoder(enc)("strict") for enc in TEXT_ENCODINGS}
                if kind.magic is None else {})
    has_nul = False
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        size += len(chunk)
        if size > limit:
            raise Invalid(f"{name} is larger than the limit of {_limit_text()}", field="file")
        digest.update(chunk)
        if len(head) < 16:
            head += chunk[:16 - len(head)]
        if decoders:
            has_nul = has_nul or b"\x00" in chunk
            for enc, decoder in list(decoders.items()):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    del decoders[enc]
    if size == 0:
        raise Invalid(f"{name} is empty", field="file")

    content_type = kind.content_type
    mismatch = f"{name} is named {suffix} but its content is not {kind.label}; allowed: {ALLOWED_TEXT}"
    if kind.magic is None:
        for enc, decoder in list(decoders.items()):
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                del decoders[enc]
        if has_nul or not decoders:
            raise Invalid(f"{name} is named .txt but is not text in UTF-8 or GB18030; allowed: {ALLOWED_TEXT}",
                              field="file")
        content_type = f"text/plain; charset={next(iter(decoders))}"
    elif not head.startswith(kind.magic):
        raise Invalid(mismatch, field="file")
    elif kind.ooxml_folder and not _is_ooxml(upload, kind.ooxml_folder):
        raise Invalid(mismatch, field="file")
    upload.seek(0)
    return Checked(name=name, size=size, sha256=digest.hexdigest(), content_type=content_type)


def _is_ooxml(upload, folder: str) -> bool:
    """A .docx/.xlsx/.pptx is a zip holding ``[Content_Types].xml`` and its main folder."""
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    finally:
        upload.seek(0)
    return "[Content_Types].xml" in names and any(n.startswith(folder) for n in names)


@transaction.atomic
def do_attach_file(matter_id, *, actor, upload, feedback_id: int | None = None,
                   report_id: int | None = None) -> Attachment:
    """Attach ``upload`` (a Django ``UploadedFile``) to a matter, or to one of its feedback
    entries or result reports."""
    matter = access.access_matter_by_id(actor, matter_id)
    if actor.role not in ATTACHING_ROLES:
        raise NotAllowed(f"a {Role(actor.role).label} may not attach files to a matter (who may: unit staff of "
                         f"its units, supervision staff, the office leader)")
    if actor.role == Role.UNIT_STAFF and not MatterUnit.objects.filter(matter=matter, unit_id=actor.unit_id).exists():
        raise NotFound(f"no matter {matter.pk}")  # visibility already requires it
    if matter.state in TERMINAL:
        raise Invalid(f"matter {matter.number} is {State(matter.state).label}; nothing more can be attached",
                          field="matter")
    if feedback_id is not None and report_id is not None:
        raise Invalid("attach a file to a feedback or to a result report, not to both", field="feedback")
    feedback = report = None
    if feedback_id is not None:
        feedback = Feedback.objects.filter(pk=_int(feedback_id, "feedback"), matter=matter).first()
        if feedback is None:
            raise Invalid(f"matter {matter.number} has no feedback {feedback_id}", field="feedback")
        _own_unit(actor, feedback.unit_id, "feedback")
    if report_id is not None:
        report = access.visible_reports(actor, matter).filter(pk=_int(report_id, "report")).first()
        if report is None:
            raise Invalid(f"matter {matter.number} has no result report {report_id}", field="report")
        _own_unit(actor, report.unit_id, "result report")

    checked = check_upload(upload)
    attachment = Attachment(matter=matter, feedback=feedback, report=report, original_name=checked.name,
                            size=checked.size, content_type=checked.content_type, sha256=checked.sha256,
                            uploaded_by=actor)
    # Storage is not transactional: stored here, removed again if anything below fails.
    attachment.file.save(checked.name, upload, save=False)
    try:
        attachment.save()
        audit.record(actor=actor, action="matter.attach", obj=matter, after={
            "attachment": attachment.pk, "name": checked.name, "size": checked.size,
            "content_type": checked.content_type, "sha256": checked.sha256, "path": attachment.file.name,
            "feedback": feedback.pk if feedback else None, "report": report.pk if report else None})
    except BaseException:
        attachment.file.storage.delete(attachment.file.name)
        raise
    # A rollback of an *enclosing* transaction leaves the stored file without a row (Django has
    # no on-rollback hook); such orphans are harmless and can be swept by comparing storage
    # with the table.
    return attachment


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"{value!r} is not a {field} id", field=field) from None


def _own_unit(actor, unit_id: int, what: str) -> None:
    if actor.role == Role.UNIT_STAFF and unit_id != actor.unit_id:
        raise NotAllowed(f"unit staff attach files to their own unit's {what} only")

