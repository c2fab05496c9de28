"""The texts of a county's documents: its rule pack's ``documents``, with the county's own
overrides (:class:`DocumentTextOverride`) applied and ``{county}`` replaced by its name. The
county changes its texts with ``actions.do_set_document_text``."""

from __future__ import annotations

from django.utils.translation import gettext

from duban.core.county import county, county_pack
from duban.core.errors import Invalid
from duban.documents.models import DocumentTextOverride
from plugins.pack import DocumentText

TEXT_FIELDS = ("title", "issuing_office", "heading", "closing")
LIST_FIELDS = ("signature_lines", "copy_to")
FIELDS = TEXT_FIELDS + LIST_FIELDS


class UnknownDocument(Invalid):
    def __init__(self, code: str, pack):
        super().__init__(gettext("本县督办规则中没有这种公文。"), field="kind")


def _fill(value: str, name: str) -> str:
    return value.replace("{county}", name)


def document_text(code: str, *, pack=None) -> DocumentText:
    """The county's text of document ``code``: pack, then override, then ``{county}`` filled in."""
    pack = pack or county_pack()
    text = pack.document(code)
    if text is None:
        raise UnknownDocument(code, pack)
    override = DocumentTextOverride.objects.filter(code=code).first()
    changes = {}
    if override is not None:
        for name in FIELDS:
            value = getattr(override, name)
            if value is not None:
                changes[name] = tuple(value) if name in LIST_FIELDS else value
    text = text.model_copy(update=changes)
    name = county().name
    return text.model_copy(update={
        **{field: _fill(getattr(text, field), name) for field in TEXT_FIELDS},
        **{field: tuple(_fill(line, name) for line in getattr(text, field)) for field in LIST_FIELDS}})


def overrides() -> dict[str, DocumentTextOverride]:
    return {o.code: o for o in DocumentTextOverride.objects.all()}
