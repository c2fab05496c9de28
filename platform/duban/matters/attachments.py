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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duban.accounts.models import Role
from duban.core.errors import Invalid

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
    ".pdf": FileType(gettext_lazy("PDF文件"), "application/pdf", PDF),
    ".docx": FileType(gettext_lazy("Word文档"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                      ZIP, "word/"),
    ".xlsx": FileType(gettext_lazy("Excel表格"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      ZIP, "xl/"),
    ".pptx": FileType(gettext_lazy("PowerPoint演示文稿"),
                      "application/vnd.openxmlformats-officedocument.presentationml.presentation", ZIP, "ppt/"),
    ".doc": FileType(gettext_lazy("Word 97-2003文档"), "application/msword", OLE),
    ".xls": FileType(gettext_lazy("Excel 97-2003表格"), "application/vnd.ms-excel", OLE),
    ".png": FileType(gettext_lazy("PNG图片"), "image/png", PNG),
    ".jpg": FileType(gettext_lazy("JPEG图片"), "image/jpeg", JPEG),
    ".jpeg": FileType(gettext_lazy("JPEG图片"), "image/jpeg", JPEG),
    ".txt": FileType(gettext_lazy("纯文本"), "text/plain", None),
}
ALLOWED_TEXT = gettext_lazy("PDF（.pdf）、Word（.doc、.docx）、Excel（.xls、.xlsx）、PowerPoint（.pptx）、"
                            "图片（.png、.jpg、.jpeg）和纯文本（.txt，UTF-8或GB18030编码）")
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
        raise Invalid(_("请选择要上传的文件。"), field="file")
    name = clean_name(getattr(upload, "name", ""))
    if not name:
        raise Invalid(_("文件没有名称。"), field="file")
    suffix = PurePath(name).suffix.lower()
    kind = FILE_TYPES.get(suffix)
    if kind is None:
        shown = _("%(suffix)s文件") % {"suffix": suffix} if suffix else _("没有扩展名的文件")
        raise Invalid(_("%(shown)s不能作为附件上传；可以上传：%(allowed)s。") % {"shown": shown, "allowed": ALLOWED_TEXT},
                      field="file")
    limit = max_upload_bytes()
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise Invalid(_("%(name)s有%(size).1fMB，超过了%(limit)s的上限。")
                      % {"name": name, "size": declared / 1024 / 1024, "limit": _limit_text()},
                      field="file")

    digest, size, head = hashlib.sha256(), 0, b""
    decoders = ({enc: codecs.getincrementaldecoder(enc)("strict") for enc in TEXT_ENCODINGS}
                if kind.magic is None else {})
    has_nul = False
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        size += len(chunk)
        if size > limit:
            raise Invalid(_("%(name)s超过了%(limit)s的上限。") % {"name": name, "limit": _limit_text()}, field="file")
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
        raise Invalid(_("%(name)s是空文件。") % {"name": name}, field="file")

    content_type = kind.content_type
    mismatch = _("%(name)s的扩展名是%(suffix)s，但内容不是%(kind)s；可以上传：%(allowed)s。") % {
        "name": name, "suffix": suffix, "kind": kind.label, "allowed": ALLOWED_TEXT}
    if kind.magic is None:
        for enc, decoder in list(decoders.items()):
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                del decoders[enc]
        if has_nul or not decoders:
            raise Invalid(_("%(name)s的扩展名是.txt，但内容不是UTF-8或GB18030编码的文字；可以上传：%(allowed)s。")
                          % {"name": name, "allowed": ALLOWED_TEXT}, field="file")
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
