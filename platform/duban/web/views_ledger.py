"""The deduction ledger (扣分台账) and reversals (冲正) by the office leader.

Thin views in the house style of ``duban.web.shortcuts``."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from duban.accounts.models import Role
from duban.core.county import county_pack
from duban.core.errors import Invalid, NotFound
from duban.supervision import access
from duban.supervision.actions import do_reverse_entry
from duban.supervision.models import LedgerEntry
from duban.units.models import Unit
from duban.web import forms_supervision as forms
from duban.web.shortcuts import (
    PAGE_SIZE,
    event_labels,
    language,
    page,
    require_role,
    safe_back,
)

T = "web/supervision/"


# --- the ledger ----------------------------------------------------------------------------------
def _ledger_page(request, *, errors=None, typed=None, status=200):
    user, pack = request.user, county_pack()
    labels = event_labels(pack)
    qs = access.visible_ledger(user)
    units = Unit.objects.filter(pk__in=qs.values("unit_id")).order_by("kind", "code")
    back = request.get_full_path()
    params = request.GET
    if request.method == "POST":  # re-rendered after a refused reversal: the list the leader was on
        back = safe_back(request, request.POST.get("next", "")) or "/ledger/"
        params = QueryDict(urlsplit(back).query)
    form = forms.LedgerFilterForm({k: params.get(k, "") for k in ("year", "unit", "event")},
                                  units=units, events=list(labels.items()))
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        if data.get("year"):
            qs, filters["year"] = qs.filter(year=data["year"]), data["year"]
        if data.get("unit"):
            qs, filters["unit"] = qs.filter(unit__code=data["unit"]), data["unit"]
        if data.get("event"):
            qs, filters["event"] = qs.filter(event_code=data["event"]), data["event"]
    qs = qs.select_related("unit", "matter", "created_by", "reverses").order_by("-occurred_on", "-id")
    page_obj = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    shown = {e.pk for e in page_obj}
    alert = next((message for pk, message in (errors or {}).items() if pk not in shown), "")
    reversed_ids = set(LedgerEntry.objects.filter(reverses__in=shown)
                       .values_list("reverses_id", flat=True))
    can_reverse = user.role == Role.OFFICE_LEADER
    def basis(entry) -> str:
        # The regulation's clause and how the rule counts — not the pack's internal id.
        rule = pack.schedule.rule(entry.rule_code)
        return f"{rule.clause}{rule.label.get(language())}" if rule else ""

    rows = [{"entry": e, "label": labels.get(e.event_code, e.event_code), "reversed": e.pk in reversed_ids,
             "basis": basis(e),
             "reversible": can_reverse and e.reverses_id is None and e.pk not in reversed_ids,
             "error": (errors or {}).get(e.pk), "typed": (typed or {}).get(e.pk, "")} for e in page_obj]
    return render(request, T + "ledger.html", {
        "form": form, "rows": rows, "page_obj": page_obj, "can_reverse": can_reverse,
        "reversal_kinds": [(k.code, k.label.get(language())) for k in pack.schedule.reversal_kinds],
        "query": urlencode(filters), "pager_base": "/ledger/", "back": back, "alert": alert,
    }, status=status)


@page
@require_safe
def ledger_list(request):
    return _ledger_page(request)


@page
@require_POST
def ledger_reverse(request, entry_id: int):
    """Reverse an entry (冲正): the office leader, with a reason."""
    user = request.user
    entry = access.visible_ledger(user).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("没有找到这条扣分记录。"))
    form = forms.ReasonForm(request.POST)
    typed = request.POST.get("reason", "")
    if not form.is_valid():
        require_role(user, Role.OFFICE_LEADER, what=_("只有办公室领导可以冲正扣分。"))
        return _ledger_page(request, errors={entry.pk: form.errors["reason"][0]}, typed={entry.pk: typed}, status=400)
    try:
        reversal = do_reverse_entry(entry.pk, actor=user, reason=form.cleaned_data["reason"],
                                           kind=request.POST.get("kind") or None)
    except Invalid as exc:
        return _ledger_page(request, errors={entry.pk: str(exc)}, typed={entry.pk: typed}, status=400)
    messages.success(request, _("已冲正：%(unit)s %(amount)s分。") % {"unit": entry.unit.name, "amount": entry.amount})
    back = safe_back(request, request.POST.get("next", ""))
    if back:
        return HttpResponseRedirect(back)
    return redirect(f"/ledger/?{urlencode({'year': reversal.year, 'unit': entry.unit.code})}")
