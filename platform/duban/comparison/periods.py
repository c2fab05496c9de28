"""Calendar periods: months, quarters and years, each [start, end] inclusive."""

from __future__ import annotations

from datetime import date, timedelta

KINDS = ("month", "quarter", "year")


def period_start(kind: str, day: date) -> date:
    if kind == "month":
        return day.replace(day=1)
    if kind == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if kind == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown period kind {kind!r} (month, quarter, year)")


def next_start(kind: str, start: date) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_end(kind: str, start: date) -> date:
    return next_start(kind, start) - timedelta(days=1)


def is_aligned(kind: str, start: date) -> bool:
    return period_start(kind, start) == start


def periods_between(kind: str, first: date, last: date) -> list[tuple[date, date]]:
    """Every period of ``kind`` that overlaps [first, last]."""
    out, start = [], period_start(kind, first)
    while start <= last:
        out.append((start, period_end(kind, start)))
        start = next_start(kind, start)
    return out


def previous_quarters(end_start: date, count: int) -> list[date]:
    """Starts of ``count`` quarters ending with the one starting at ``end_start`` (oldest first)."""
    starts = [end_start]
    for _ in range(count - 1):
        prev = starts[-1]
        index = prev.year * 12 + prev.month - 1 - 3
        starts.append(date(index // 12, index % 12 + 1, 1))
    return list(reversed(starts))


def label(kind: str, start: date) -> str:
    if kind == "month":
        return f"{start.year}年{start.month}月"
    if kind == "quarter":
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年"
