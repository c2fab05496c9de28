"""Pages of the public host (the base domain): the landing page and the city portal for city
users (the platform operator's console: views_platform). Users here live in the public schema."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from duban.accounts.models import Role
from duban.comparison import metrics, periods, service
from duban.comparison.actions import do_set_reference_pack
from duban.core import clock
from duban.core.errors import Invalid, NotAllowed
from duban.web.shortcuts import page
from duban.web.templatetags.web_text import pack_title
from plugins.manager import get_registry
from tenants.models import County
from tenants.provisioning import county_url


def _rows(counties):
    return [{"county": c, "url": county_url(c)} for c in counties]


@never_cache
def public_home(request):
    """``/``: signed-in platform users go to their page; everyone else sees the landing page."""
    user = request.user
    if user.is_authenticated:
        if user.role == Role.CITY_USER:
            return HttpResponseRedirect("/city/")
        if user.role == Role.PLATFORM_OPERATOR:
            return HttpResponseRedirect("/platform/")
    counties = County.objects.exclude(status=County.Status.ARCHIVED).select_related("city").order_by("city__code", "slug")
    return render(request, "web/public/home.html", {"counties": counties, "count": counties.count()})


@never_cache
@page
def city_portal(request):
    """A city user's portal: their city's counties side by side for one period (from the
    comparison snapshots: scores under each county's own pack and under the city's reference
    pack, the metrics, their freshness), quarterly trends, the metric definitions, the XLSX
    export, and the choice of the reference pack."""
    city = _own_city(request)
    error = None
    q = request.GET
    try:
        kind, start = service.parse_period(q.get("period"), q.get("start"))
        table = service.comparison(city, kind, start, rank_by=q.get("rank_by") or "reference_mean_score")
    except Invalid as exc:
        error = {"field": exc.field, "message": str(exc)}
        kind, start = service.parse_period(None, None)
        table = service.comparison(city, kind, start)
    trend = service.trends(city, end=start if kind == "quarter" else None)
    counties = County.objects.filter(city=city).exclude(status=County.Status.ARCHIVED).order_by("slug")
    context = {
        "city": city, "rows": _rows(counties), "table": table, "error": error,
        "kind": kind, "start": start, "period_kinds": _period_choices(), "rank_choices": _rank_choices(),
        "definitions": _definitions(), "packs": _installed_packs(), "can_choose_reference": True,
        "export_query": urlencode({"city": city.code, "period": kind, "start": start.isoformat(),
                                   "rank_by": table["rank_by"]}),
        "charts": _charts(table, trend),
        "stale": sum(1 for r in table["counties"] if not r["fresh"]),
    }
    return render(request, "web/public/city.html", context, status=400 if error else 200)


@never_cache
@page
@require_POST
def city_reference_pack(request):
    """Choose the reference pack every county of the city is rescored under (audited; the
    counties' snapshots are refreshed after the commit)."""
    city = _own_city(request)
    try:
        chosen = do_set_reference_pack(city, request.POST.get("reference_pack", ""), actor=request.user)
    except Invalid as exc:
        messages.error(request, _("参照规则包未更改：%(error)s") % {"error": exc})
    else:
        messages.success(request, _("参照规则包已设为 %(pack)s，各县数据正在按其重新计算。")
                         % {"pack": pack_title(chosen.reference_pack)})
    return HttpResponseRedirect(reverse("city_portal") + "#reference")


def _own_city(request):
    if request.user.role != Role.CITY_USER:
        raise NotAllowed(_("只有市政府用户可以查看本页。"))
    membership = getattr(request.user, "city_membership", None)
    if membership is None:
        raise NotAllowed(_("您的账号尚未关联到任何市，请联系平台运维。"))
    return membership.city


def _period_choices():
    """(kind, label, the start of the current period of that kind): switching the kind moves the
    start to the current period (city-charts.js), not to the period of that kind holding the old start."""
    today = clock.today()
    return [(kind, label, periods.period_start(kind, today))
            for kind, label in (("month", _("月")), ("quarter", _("季度")), ("year", _("年度")))]


def _rank_choices():
    labels = {"reference_mean_score": _("参照规则包平均分"), "own_mean_score": _("本县规则包平均分")}
    return [(key, labels.get(key) or _label(metrics.DEFINITIONS[key]["label"])) for key in metrics.RANKABLE]


def _label(texts: dict) -> str:
    return texts["en"] if get_language() == "en" else texts["zh-hans"]


def _definitions():
    return [{"key": key, "label": _label(item["label"]), "definition": _label(item["definition"])}
            for key, item in metrics.DEFINITIONS.items()]


def _installed_packs():
    return [f"{p.name}=={p.version}" for p in get_registry().all() if p.ok]


def _percent(value):
    return None if value is None else round(value * 100, 1)


def _charts(table: dict, trend: dict) -> dict:
    """The data of the portal's charts (ECharts options are built in the page's script)."""
    rows = [r for r in table["counties"] if r["metrics"] is not None]
    names = [r["name"] for r in rows]

    def score(row, which, key):
        return (row[which] or {}).get(key)

    box = [[score(r, "reference_pack_scores" if table["reference_pack"] else "own_pack_scores", k)
            for k in ("min", "q1", "median", "q3", "max")] for r in rows]
    trend_key = "reference_mean_score" if trend["reference_pack"] else "own_mean_score"
    return {
        "names": names,
        "scores": {"own_label": _("本县规则包平均分"), "reference_label": _("参照规则包平均分"),
                   "own": [score(r, "own_pack_scores", "mean") for r in rows],
                   "reference": [score(r, "reference_pack_scores", "mean") for r in rows]},
        "box": {"label": _("单位得分分布"), "data": [b if None not in b else [] for b in box]},
        "rates": {"series": [
            {"label": _label(metrics.DEFINITIONS[key]["label"]), "data": [_percent((r["metrics"] or {}).get(key)) for r in rows]}
            for key in ("on_time_rate", "feedback_punctuality", "redo_rate", "no_answer_share")]},
        "trend": {"label": _("参照规则包平均分") if trend_key == "reference_mean_score" else _("本县规则包平均分"),
                  "quarters": [q["label"] for q in trend["quarters"]],
                  "series": [{"name": c["name"], "data": c["series"][trend_key]} for c in trend["counties"]]},
    }
