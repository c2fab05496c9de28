"""The fonts of the PDFs, as files the project controls.

Documents name their faces by file (``@font-face``), never by asking fontconfig at the moment of
rendering: a cache being rewritten by another process once made a numbered 督查专报 come out with
DejaVu only and no Chinese at all. Debian's fonts-noto-cjk ships collections (``.ttc``) whose
first face is the Japanese one; the Simplified Chinese faces (Noto Serif/Sans CJK SC) are taken
out of them once into ``DUBAN_FONT_DIR`` (atomically, checked by name) and used from there.

``duban documents fonts`` prepares them ahead (the image does at build time); otherwise the first
document does.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from fontTools.ttLib import TTCollection, TTFont


@dataclass(frozen=True)
class Face:
    family: str      # the name the document styles use
    weight: str      # CSS font-weight
    collection: str  # the .ttc in DUBAN_CJK_FONT_SOURCE
    postscript: str  # the face's PostScript name in it; also the file's name here
    source_family: str  # the family its name table gives (what an embedded subset still says)

    @property
    def filename(self) -> str:
        return f"{self.postscript}.otf"


SERIF, SANS = "Duban Serif", "Duban Sans"
FACES = (
    Face(SERIF, "normal", "NotoSerifCJK-Regular.ttc", "NotoSerifCJKsc-Regular", "Noto Serif CJK SC"),
    Face(SERIF, "bold", "NotoSerifCJK-Bold.ttc", "NotoSerifCJKsc-Bold", "Noto Serif CJK SC"),
    Face(SANS, "normal", "NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular", "Noto Sans CJK SC"),
    Face(SANS, "bold", "NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold", "Noto Sans CJK SC"),
)
CJK_FAMILIES = frozenset(face.source_family for face in FACES)

_lock = threading.Lock()


class FontsMissing(RuntimeError):
    """The CJK fonts could not be found or prepared: no document can be printed."""


def font_dir() -> Path:
    return Path(settings.DUBAN_FONT_DIR)


def source_dir() -> Path:
    return Path(settings.DUBAN_CJK_FONT_SOURCE)


def _postscript_name(path: Path) -> str | None:
    try:
        with TTFont(path, lazy=True) as font:
            return font["name"].getDebugName(6)
    except Exception:  # (broad on purpose) a truncated or foreign file is simply not the face
        return None


def _extract(face: Face, target: Path) -> None:
    source = source_dir() / face.collection
    if not source.is_file():
        raise FontsMissing(f"找不到中文字体文件 {source}（Debian：apt-get install fonts-noto-cjk；或设置 DUBAN_CJK_FONT_SOURCE）")
    collection = TTCollection(source, lazy=True)
    chosen = next((f for f in collection.fonts if f["name"].getDebugName(6) == face.postscript), None)
    if chosen is None:
        raise FontsMissing(f"{source} 中没有 {face.postscript} 字形（简体中文）")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(handle)
    try:
        chosen.save(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; web and workers may run as other users
        os.replace(temporary, target)  # atomic: a reader sees the whole file or none
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def ensure_fonts() -> dict[Face, Path]:
    """Each face's file, prepared if missing or not the face it should be."""
    found = {}
    with _lock:
        for face in FACES:
            path = font_dir() / face.filename
            if not path.is_file() or _postscript_name(path) != face.postscript:
                _extract(face, path)
            found[face] = path
    return found


def font_face_css() -> str:
    """The @font-face rules of the document styles: every face by its file."""
    rules = []
    for face, path in ensure_fonts().items():
        rules.append(f'@font-face {{ font-family: "{face.family}"; src: url("{path.resolve().as_uri()}"); '
                     f"font-weight: {face.weight}; font-style: normal; }}")
    return "\n".join(rules)
