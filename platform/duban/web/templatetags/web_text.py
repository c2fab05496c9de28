"""Words for people, not for developers: a rule pack named by the regulation it follows and the
date of that version (《县政务督查督办工作方案》（2026年11月25日版）), never by ``name==version``."""

from __future__ import annotations

from django import template
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from plugins.manager import get_registry

register = template.Library()


@register.filter
def pack_title(key, version: str = "") -> str:
    """``"county_default==1.0.0"`` (or a name and ``version``) → the regulation's title and the
    date of its version; the installed pack's own title when it names no source; the key itself
    for a pack that is not installed (the reader still learns which one)."""
    key = str(key or "")
    name, _sep, pinned = key.partition("==")
    version = pinned or str(version or "")
    entry = get_registry().get(name)
    pack = entry.pack if entry is not None and entry.ok and (not version or entry.version == version) else None
    if pack is None:
        return f"{name} {version}".strip()
    title = pack.source or pack.title.get(get_language() or "zh-hans")
    if pack.issued:
        return _("《%(title)s》（%(day)s版）") % {"title": title, "day": date_format(pack.issued)}
    return _("《%(title)s》（第%(version)s版）") % {"title": title, "version": pack.version}
