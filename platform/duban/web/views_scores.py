"""Scores (评分): the ranking of units for a year with its charts, a unit's statement, and the
annual assessment table as a file.

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from duban.accounts.models import Role
from duban.core import clock
from duban.core.county import county_pack
from duban.core.errors import Invalid
from duban.reports import documents as report_documents
from duban.reports.annual import annual_assessment
from duban.scoring.texts import counting_text
from duban.supervision import access, ledger
from duban.supervision.models import LedgerEntry
from duban.supervision.queries import on_time_by_month, steps_by_tier
from duban.web import forms_supervision as forms
from duban.web.shortcuts import (
    event_labels,
    page,
    tier_labels,
)
from duban.web.views_documents import document_download

T = "web/supervision/"


# --- scores --------------------------------------------------------------------------------------
def years_for(qs) -> list[int]:
    years = set(qs.values_list("year", flat=True).distinct())
    years.add(clock.today().year)
    return sorted(years, reverse=True)


def rank(rows: list[dict]) -> list[dict]:
    """Best score first; equal scores share a rank (1, 2, 2, 4)."""
    rows.sort(key=lambda r: (-r["score"], r["deducted"] * -1, r["kind"], r["code"]))
    previous, position = None, 0
    for index, row in enumerate(rows, start=1):
        if row["score"] != previous:
            position, previous = index, row["score"]
        row["rank"] = position
    return rows


@page
@require_safe
def scores(request):
    """Ranking of units for a year with each one's deductions by type, and two charts."""
    user, pack = request.user, county_pack()
    year = forms.YearForm(request.GET or None).chosen_year()
    units = access.statement_units(user)
    allowed = set(units.values_list("code", flat=True))
    assessment = annual_assessment(year)
    columns = [c for c in assessment.columns
               if c.amount is not None or any(r.deductions.get(c.code) for r in assessment.rows)]
    labels = event_labels(pack)
    rows = []
    for row in assessment.rows:
        if row.unit_code not in allowed:
            continue
        rows.append({"code": row.unit_code, "name": row.unit_name, "kind": row.kind_label, "score": row.score,
                     "deducted": row.total,
                     "deductions": [row.deductions.get(c.code) or Decimal(0) for c in columns]})
    tiers = steps_by_tier(units, year, tier_labels(pack))
    months = on_time_by_month(units, year)
    return render(request, T + "scores.html", {
        "year": year, "years": years_for(access.visible_ledger(user)), "base": assessment.base,
        "floor": assessment.floor,
        "columns": [(c.code, labels.get(c.code, c.label), counting_text(pack.schedule.rule(c.code))
                     if pack.schedule.rule(c.code) else "") for c in columns],
        "rows": rank(rows), "tiers": tiers, "months": months,
        "tier_chart": {"labels": [t["label"] for t in tiers], "counts": [t["count"] for t in tiers],
                       "title": _("各级督办措施次数"), "series": _("次数")},
        "rate_chart": {"labels": [m["label"] for m in months], "closed": [m["closed"] for m in months],
                       "rates": [m["rate"] for m in months], "title": _("按期办结率"),
                       "closed_label": _("办结件数"), "rate_label": _("按期办结率（%）")},
        "can_export": user.role in access.SCORE_READERS,
        "single_unit": user.role == Role.UNIT_STAFF,
    })


@page
@require_safe
def statement(request, code: str):
    """A unit's statement: base, every entry with running totals, final score."""
    user, pack = request.user, county_pack()
    unit = access.access_statement_unit(user, code)
    year = forms.YearForm(request.GET or None).chosen_year()
    base, lines, final = ledger.statement(unit, year)
    labels = event_labels(pack)
    reversed_ids = set(LedgerEntry.objects.filter(unit=unit, year=year, reverses__isnull=False)
                       .values_list("reverses_id", flat=True))
    return render(request, T + "statement.html", {
        "unit": unit, "year": year, "base": base, "final": final,
        "years": years_for(access.visible_ledger(user).filter(unit=unit)),
        "lines": [{"line": line, "entry": line.entry, "label": labels.get(line.entry.event_code, line.entry.event_code),
                   "is_reversal": line.entry.reverses_id is not None, "reversed": line.entry.pk in reversed_ids}
                  for line in lines],
        "deducted": base - final, "floor": pack.schedule.floor,
        "can_reverse": user.role == Role.OFFICE_LEADER,
    })


@page
@require_safe
def annual_table(request, fmt: str):
    """The annual assessment table (年度考评) of a year as Excel or PDF."""
    year = forms.YearForm(request.GET or None).chosen_year()
    try:
        document = report_documents.annual_assessment_document(year, actor=request.user)
    except Invalid as exc:
        raise Http404(str(exc)) from None
    return document_download(document, fmt)
