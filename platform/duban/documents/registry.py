"""The kinds of document, each registered by the area whose records it is made of.

Documents is the layer below the areas that issue documents: it prints, stores, numbers and
verifies them, and knows no area's records. Each area (``matters``, ``supervision``,
``reports``) keeps its kinds' builders in its own ``documents.py`` and registers them from its
``AppConfig.ready()``; everything that dispatches by kind — ``service.document_for``, the
formats a document comes in, who sees which documents (``access``), the ``duban documents``
command — asks this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from duban.core.errors import Invalid
from duban.documents.content import Verification
from duban.documents.models import Document


@dataclass(frozen=True)
class Sample:
    """What ``duban documents sample`` writes for a kind: an issued ``document``, or ``content``
    printed unnumbered (a blank form), or nothing and the reason (``missing``)."""

    document: Document | None = None
    note: str = ""
    content: dict | None = None
    missing: str = ""


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document.

    ``document(obj, *, actor)`` looks the record up as the actor may see it (``obj`` is the record
    or its id), checks the actor may print it, and returns its document — issued the first time,
    the same one after. ``visible(user)`` is the condition on documents that this area lets a user
    outside the supervision office see (``None``: none); the office sees every document.
    ``word``: it comes as Word too; ``xlsx(content, verification)``: it comes as Excel.
    ``sample(*, actor, year)``: what ``duban documents sample`` writes for it."""

    code: str
    document: Callable[..., Document]
    visible: Callable[[Any], Q | None] | None = None
    word: bool = True
    xlsx: Callable[[dict, Verification | None], bytes] | None = None
    sample: Callable[..., Sample] | None = None


@dataclass(frozen=True)
class SampleFile:
    """A file ``duban documents sample`` writes besides the documents (the register book)."""

    code: str
    label: str
    filename: str
    make: Callable[[], bytes]


_kinds: dict[str, DocumentKind] = {}
_files: dict[str, SampleFile] = {}


def register(*kinds: DocumentKind) -> None:
    """Register kinds of document (again: replaced)."""
    for kind in kinds:
        _kinds[kind.code] = kind


def register_file(*files: SampleFile) -> None:
    for file in files:
        _files[file.code] = file


def get(code: str) -> DocumentKind:
    """The registered kind ``code``; an unknown kind is bad input."""
    try:
        return _kinds[code]
    except KeyError:
        raise Invalid(_("没有这种公文。"), field="kind") from None


def kinds() -> list[DocumentKind]:
    return list(_kinds.values())


def sample_files() -> list[SampleFile]:
    return list(_files.values())
