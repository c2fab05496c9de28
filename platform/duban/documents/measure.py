"""Measure a printed document against GB/T 9704-2012 (党政机关公文格式): where its characters,
lines and red rules actually are in the PDF, in millimetres.

Used by the tests and by ``duban documents measure FILE…``. pdfplumber (pdfminer) reads the PDF;
it is a development dependency, imported only here.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from itertools import pairwise

MM = 25.4 / 72  # millimetres per PDF point
BODY_PT = 16.0  # 3号
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
# GB/T 9704-2012: A4, 版心 156 × 225 mm, top margin 37 ± 1 mm, binding (left) margin 28 ± 1 mm;
# 3号仿宋 28 characters a line, 22 lines a page; red rule 4 mm below 发文字号; title two lines below it;
# 文件格式: 发文机关标志 35 mm below the top of the text block.
STANDARD = {"chars_per_line": 28, "lines_per_page": 22, "left_margin_mm": (27.0, 29.0),
            "red_rule_gap_mm": (3.5, 4.5), "title_gap_lines": (1.7, 2.3), "office_top_mm": (34.0, 36.0),
            # 版记 on the last lines of the last page: the text block ends 262 mm from the page top.
            "record_bottom_mm": (252.0, 262.0),
            # 信函格式 (§10.1): mark 30 mm from the top edge, double line 4 mm below it, another 20 mm
            # from the bottom edge.
            "office_from_edge_mm": (29.0, 31.0), "letter_rule_gap_mm": (3.0, 5.0), "letter_foot_mm": (19.0, 21.0)}


@dataclass
class Measures:
    pages: int
    layout: str                      # "file" (文件格式), "bulletin" (简报: a large red name, its own head) or
                                     # "table" (a landscape form such as the annual table: no 公文 head)
    chars_per_line: int | None       # text block width ÷ the pitch of body characters
    char_pitch_mm: float | None
    lines_per_page: int | None       # text block height ÷ the pitch of body lines
    line_pitch_mm: float | None
    first_line_mm: float | None      # page top to the first character of the first page
    left_margin_mm: float | None     # page edge to the leftmost body character
    office_top_mm: float | None      # the standard's text block top (37 mm) to the issuing office's mark
    red_rule_gap_mm: float | None    # bottom of the 发文字号 to the red rule
    title_gap_lines: float | None    # red rule to the title, in body lines
    red_rules: int                   # red rules on the first page (信函格式: double lines)
    record_bottom_mm: float | None   # the last page: page top to the bottom of the 版记's last line (…印发)
    office_from_edge_mm: float | None = None   # 信函格式: the page's top edge to the mark
    letter_rule_gap_mm: float | None = None    # 信函格式: the mark's bottom to the head's double line
    letter_foot_mm: float | None = None        # 信函格式: the foot's double line to the page's bottom edge
    page_number_on_page_one: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _red(colour) -> bool:
    if not isinstance(colour, (tuple, list)) or len(colour) != 3:
        return False
    r, g, b = colour
    return r > 0.7 and g < 0.3 and b < 0.3


def measure(pdf: bytes, *, text_block_mm: tuple[float, float] = (156.0, 225.0)) -> Measures:
    import pdfplumber  # noqa: PLC0415 — a development dependency (tests, `duban documents measure`)

    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[0]
        chars = [c for c in page.chars if c["text"].strip()]
        body = [c for c in chars if abs(c["size"] - BODY_PT) < 0.6 and CJK.match(c["text"])]
        lines: dict[float, list] = defaultdict(list)
        for c in body:
            lines[round(c["top"], 0)].append(c)
        pitches = []
        for row in lines.values():
            row.sort(key=lambda c: c["x0"])
            pitches += [b["x0"] - a["x0"] for a, b in pairwise(row) if CJK.match(a["text"]) and 0 < b["x0"] - a["x0"] < 30]
        char_pitch = statistics.median(pitches) * MM if pitches else None
        tops = sorted(lines)
        steps = [b - a for a, b in pairwise(tops) if 20 < b - a < 40]
        line_pitch = statistics.median(steps) * MM if steps else None
        width, height = text_block_mm
        first_top = min((c["top"] for c in chars if c["size"] > 8), default=None)
        drawn = sorted((o for o in page.rects + page.lines + page.curves
                        if (_red(o.get("non_stroking_color")) or _red(o.get("stroking_color")))
                        and (o["x1"] - o["x0"]) * MM > 100), key=lambda o: o["top"])
        # Overlapping red shapes are one rule (a border is drawn as a filled outer shape, and a double
        # line as an outer shape with an inner one cut out of it: 信函格式's thick-and-thin lines).
        reds = []
        for o in drawn:
            if reds and o["top"] <= reds[-1]["bottom"] + 0.1 / MM:
                last = reds[-1]
                hole = o["top"] > last["top"] + 0.1 / MM and o["bottom"] < last["bottom"] - 0.1 / MM
                reds[-1] = {**last, "bottom": max(last["bottom"], o["bottom"]), "double": last["double"] or hole}
            else:
                reds.append({**o, "double": False})
        letter = bool(reds) and reds[0]["double"]
        office = [c for c in chars if c["size"] >= 18 and _red(c.get("non_stroking_color"))]
        bulletin = any(c["size"] >= 40 for c in office)  # 简报: the standard's head does not apply
        numbers = [c for c in chars if re.search(r"[〔〕号]", c["text"]) and abs(c["size"] - BODY_PT) < 0.6]
        titles = [c for c in chars if 21 < c["size"] < 23]
        rule = reds[0] if reds else None
        red_gap = None
        if rule is not None and numbers:
            above = [c for c in numbers if c["bottom"] <= rule["top"] + 1]
            if above:
                red_gap = (rule["top"] - max(c["bottom"] for c in above)) * MM
        title_gap = None
        if rule is not None and titles and line_pitch:
            title_gap = (min(c["top"] for c in titles) - rule["bottom"]) * MM / line_pitch
        layout = ("bulletin" if bulletin else "table" if page.width > page.height else "letter" if letter
                  else "file")
        office_edge = min((c["top"] for c in office), default=None)
        head_gap = ((reds[0]["top"] - max(c["bottom"] for c in office)) * MM if letter and office else None)
        foot = (page.height - reds[-1]["bottom"]) * MM if letter else None
        page_one_number = any(c["text"] == "1" and 12 < c["size"] < 16 and c["top"] * MM > 255 for c in chars)
        last = doc.pages[-1]
        printed = [c for c in last.chars if c["text"] in "印发" and 12 < c["size"] < 16]
        record_bottom = max((c["bottom"] for c in printed), default=None)
        head_numbers = [c for c in numbers if titles and c["bottom"] <= min(t["top"] for t in titles)]
        if layout == "letter" and titles and line_pitch and head_numbers:
            title_gap = (min(c["top"] for c in titles) - max(c["bottom"] for c in head_numbers)) * MM / line_pitch
        if layout != "file":
            office, red_gap = [], None
        if layout not in ("file", "letter"):
            title_gap = None
        return Measures(
            pages=len(doc.pages), layout=layout,
            chars_per_line=int(width / char_pitch + 0.05) if char_pitch else None,
            char_pitch_mm=round(char_pitch, 3) if char_pitch else None,
            lines_per_page=int(height / line_pitch + 0.05) if line_pitch else None,
            line_pitch_mm=round(line_pitch, 3) if line_pitch else None,
            first_line_mm=round(first_top * MM, 1) if first_top is not None else None,
            left_margin_mm=round(min(c["x0"] for c in body) * MM, 1) if body else None,
            office_top_mm=round(min(c["top"] for c in office) * MM - 37.0, 1) if office else None,
            red_rule_gap_mm=round(red_gap, 2) if red_gap is not None else None,
            title_gap_lines=round(title_gap, 2) if title_gap is not None else None,
            red_rules=len(reds),
            record_bottom_mm=round(record_bottom * MM, 1) if record_bottom is not None else None,
            office_from_edge_mm=round(office_edge * MM, 1) if layout == "letter" and office_edge is not None else None,
            letter_rule_gap_mm=round(head_gap, 2) if head_gap is not None else None,
            letter_foot_mm=round(foot, 1) if foot is not None else None,
            page_number_on_page_one=page_one_number,
        )
