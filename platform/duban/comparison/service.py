"""Reading the comparison: a city's counties side by side for one period, quarterly trends, the
XLSX export, and the city's reference pack. Reads public-schema snapshots only: a bounded
number of queries, whatever the number of counties, and never a county's schema."""

from __future__ import annotations

import json
from datetime import date

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl.styles import Font
from psycopg.adapt import Loader
from rest_framework.utils.encoders import JSONEncoder

from duban.comparison import metrics, periods
from duban.comparison.models import CityComparisonSettings, CountySnapshot
from duban.core import clock, spreadsheet
from duban.core.errors import Invalid
from tenants.models import County

MAX_TREND_QUARTERS = 20


def parse_period(kind: str | None, start) -> tuple[str, date]:
    kind = kind or "quarter"
    if kind not in periods.KINDS:
        raise Invalid(_("统计周期应为月、季度或年。"), field="period")
    if start in (None, ""):
        return kind, periods.period_start(kind, clock.today())
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start)
        except ValueError:
            raise Invalid(_("开始日期“%(value)s”不是有效的日期（格式：2026-10-01）。") % {"value": start},
                          field="start") from None
    if not 2000 <= start.year <= 2100:
        raise Invalid(_("开始日期应在2000年至2100年之间。"), field="start")
    if not periods.is_aligned(kind, start):
        raise Invalid(_("开始日期（%(start)s）不是一个统计周期的第一天（例如%(example)s）。")
                      % {"start": date_format(start), "example": date_format(periods.period_start(kind, start))},
                      field="start")
    return kind, start


def definitions() -> dict:
    return metrics.DEFINITIONS


def current_reference(city) -> str:
    chosen = CityComparisonSettings.objects.filter(city=city).first()
    return chosen.reference_pack if chosen else ""


def _rank_value(row: dict, key: str):
    if key == "reference_mean_score":
        return (row["reference_pack_scores"] or {}).get("mean")
    if key == "own_mean_score":
        return (row["own_pack_scores"] or {}).get("mean")
    return (row["metrics"] or {}).get(key)


# The comparison table: PostgreSQL builds the counties' rows as one JSON array (ranked with
# RANK(), freshness and age computed there). tests/test_comparison.py checks the rows against a
# reference computation from the snapshots.
_RANK_SQL = {"reference_mean_score": "(s.reference_pack_scores ->> 'mean')::float8",
             "own_mean_score": "(s.own_pack_scores ->> 'mean')::float8"}
_ROWS_SQL = """
WITH rows AS (
    SELECT c.slug, c.name, c.status, c.rulepack_name || '==' || c.rulepack_version AS own_pack,
           s.id AS snapshot_id, s.metrics, s.own_pack_scores, s.own_pack AS snapshot_own_pack,
           NULLIF(s.reference_pack, '') AS reference_pack, s.reference_pack_scores, s.as_of, s.refreshed_at,
           s.refresh_kind, s.source_max_event_id,
           {rank_value} AS rank_value
      FROM {county} c
      -- One probe of the (county, period_kind, period_start) unique index per county, whatever
      -- the planner's statistics say (a plain join on stale ones became a 1000×500 nested loop).
      LEFT JOIN LATERAL (SELECT * FROM {snapshot} x
                          WHERE x.county_id = c.id AND x.period_kind = %(kind)s AND x.period_start = %(start)s
                          LIMIT 1) s ON true
     WHERE c.city_id = %(city)s AND c.status <> 'archived'  -- archived: no schema, no data to compare
), ranked AS (
    SELECT r.*,
           CASE WHEN r.snapshot_id IS NULL THEN ARRAY['never refreshed']
                ELSE array_remove(ARRAY[
                    CASE WHEN r.snapshot_own_pack <> r.own_pack THEN 'county changed its rule pack since' END,
                    CASE WHEN COALESCE(r.reference_pack, '') <> %(reference)s
                         THEN 'city changed its reference pack since' END], NULL) END AS reasons,
           CASE WHEN r.rank_value IS NULL THEN NULL
                ELSE rank() OVER (ORDER BY r.rank_value {direction} NULLS LAST) END AS rank
      FROM rows r
)
SELECT COALESCE(json_agg(json_build_object(
           'slug', slug, 'name', name, 'status', status, 'own_pack', own_pack,
           'metrics', metrics, 'own_pack_scores', own_pack_scores, 'snapshot_own_pack', snapshot_own_pack,
           'reference_pack', reference_pack, 'reference_pack_scores', reference_pack_scores,
           'as_of', as_of, 'refreshed_at', refreshed_at,
           'age_seconds', floor(extract(epoch FROM (%(now)s - refreshed_at)))::bigint,
           'refresh_kind', refresh_kind, 'source_max_event_id', source_max_event_id,
           'fresh', cardinality(reasons) = 0,
           'stale_because', NULLIF(array_to_string(reasons, '; '), ''),
           'rank', rank)
         ORDER BY rank IS NULL, rank, slug), '[]')::text
  FROM ranked
"""


# Memory for this query's sorts (the ranking and the rows' order) instead of the server's default
# work_mem (4 MB): at 2,844 counties the rows (≈ 1.3 kB each) spilled ≈ 70 MB to temporary files and
# the query took 79 ms instead of 57 ms (bench/RESULTS.md). Enough for ≈ 20,000 counties; set only for
# this statement's transaction.
_SORT_MEMORY = "64MB"


class _RawText(Loader):
    """Loads PostgreSQL text as the bytes it arrived in: the rows' JSON goes to the response
    without being decoded and encoded again (3.5 MB at 2,844 counties)."""

    def load(self, data) -> bytes:
        return bytes(data)


def _table(city, kind: str | None, start, rank_by: str, *, raw: bool = False) -> tuple[dict, str | bytes]:
    """The comparison's head (city, period, reference pack, rank key, definitions) and its rows
    as one JSON array built by PostgreSQL (one query); the rows as UTF-8 bytes if ``raw``."""
    kind, start = parse_period(kind, start)
    if rank_by not in metrics.RANKABLE:
        raise Invalid(_("不能按这一项排名。"), field="rank_by")
    reference = current_reference(city)
    if rank_by == "reference_mean_score" and not reference:
        rank_by = "own_mean_score"
    rank_value = _RANK_SQL.get(rank_by, "(s.metrics ->> %(rank_key)s)::float8")
    sql = _ROWS_SQL.format(rank_value=rank_value, direction="DESC" if metrics.RANKABLE[rank_by] else "ASC",
                           county=connection.ops.quote_name(County._meta.db_table),
                           snapshot=connection.ops.quote_name(CountySnapshot._meta.db_table))
    now = timezone.now()  # the application's clock: the rows' ages and generated_at agree
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [_SORT_MEMORY])
        if raw:
            cursor.cursor.adapters.register_loader("text", _RawText)
        cursor.execute(sql, {"kind": kind, "start": start, "city": city.pk, "reference": reference,
                             "rank_key": rank_by, "now": now})
        rows = cursor.fetchone()[0]
    head = {
        "city": {"code": city.code, "name": city.name},
        "period": {"kind": kind, "start": start, "end": periods.period_end(kind, start),
                   "label": periods.label(kind, start)},
        "reference_pack": reference or None,
        "rank_by": rank_by,
        "generated_at": now,
        "definitions": metrics.DEFINITIONS,
    }
    return head, rows


def comparison(city, kind: str | None, start, *, rank_by: str = "reference_mean_score") -> dict:
    """A city's counties side by side for one period, ranked by ``rank_by`` (ties share a rank,
    counties without a value come last), each row saying how fresh it is. For the web page, the
    CLI and the export; dates and times as Python objects."""
    head, rows = _table(city, kind, start, rank_by)
    counties = json.loads(rows)
    for row in counties:
        row["as_of"] = date.fromisoformat(row["as_of"]) if row["as_of"] else None
        row["refreshed_at"] = parse_datetime(row["refreshed_at"]) if row["refreshed_at"] else None
    return {**head, "counties": counties}


def comparison_json(city, kind: str | None, start, *, rank_by: str = "reference_mean_score") -> bytes:
    """``comparison()`` as JSON bytes for the API: the rows' JSON is PostgreSQL's, not decoded and
    encoded again (with 1,000 counties: a few ms instead of ~80)."""
    head, rows = _table(city, kind, start, rank_by, raw=True)
    encoded = json.dumps(head, cls=JSONEncoder, ensure_ascii=False)
    return b"".join((encoded[:-1].encode(), b', "counties": ', rows, b"}"))


TREND_METRICS = ("reference_mean_score", "own_mean_score", "on_time_rate", "avg_overdue_working_days", "redo_rate",
                 "feedback_punctuality", "no_answer_share")


def trends(city, *, end=None, quarters: int = 8) -> dict:
    """Quarterly series per county (oldest first), from quarter snapshots only."""
    _, end = parse_period("quarter", end)
    if not 1 <= quarters <= MAX_TREND_QUARTERS:
        raise Invalid(_("季度数应为1至%(limit)d。") % {"limit": MAX_TREND_QUARTERS}, field="quarters")
    starts = periods.previous_quarters(end, quarters)
    counties = list(city.counties.exclude(status="archived").order_by("slug").values("id", "slug", "name"))
    snaps = {}
    for s in CountySnapshot.objects.filter(county_id__in=[c["id"] for c in counties], period_kind="quarter",
                                           period_start__in=starts).order_by().values(
            "county_id", "period_start", "metrics", "own_pack_scores", "reference_pack_scores", "refreshed_at"):
        snaps[(s["county_id"], s["period_start"])] = s
    out = []
    for county in counties:
        series = {key: [] for key in TREND_METRICS}
        refreshed = []
        for start in starts:
            snap = snaps.get((county["id"], start))
            row = {"metrics": snap["metrics"], "own_pack_scores": snap["own_pack_scores"],
                   "reference_pack_scores": snap["reference_pack_scores"]} if snap else None
            for key in TREND_METRICS:
                series[key].append(_rank_value(row, key) if row else None)
            refreshed.append(snap["refreshed_at"] if snap else None)
        out.append({"slug": county["slug"], "name": county["name"], "series": series, "refreshed_at": refreshed})
    return {"city": {"code": city.code, "name": city.name},
            "quarters": [{"start": s, "label": periods.label("quarter", s)} for s in starts],
            "reference_pack": current_reference(city) or None, "metrics": list(TREND_METRICS),
            "counties": out, "definitions": metrics.DEFINITIONS}


def export_xlsx(city, kind, start, *, rank_by: str = "reference_mean_score") -> tuple[bytes, str]:
    """The comparison as an Excel workbook: the table and the metric definitions."""
    table = comparison(city, kind, start, rank_by=rank_by)
    wb, ws = spreadsheet.new_workbook("对比")
    spreadsheet.append(ws, [f"{city.name} 各县督查督办对比 · {table['period']['label']} · 参照规则包 "
                            f"{table['reference_pack'] or '（未选定）'} · 排序 {table['rank_by']}"])
    ws["A1"].font = Font(bold=True)
    header = ["排名", "县", "标识", "本县规则包", "本县规则包平均分", "参照规则包平均分", "本县最低分", "本县中位分",
              "参照最低分", "参照中位分", "按期办结率", "平均逾期工作日", "退回复办率", "反馈及时率", "逾期无回音占比",
              "交办事项数", "数据截至", "刷新时间"]
    spreadsheet.append(ws, header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in table["counties"]:
        m, own, ref = row["metrics"] or {}, row["own_pack_scores"] or {}, row["reference_pack_scores"] or {}
        refreshed = timezone.localtime(row["refreshed_at"]).replace(tzinfo=None) if row["refreshed_at"] else None
        spreadsheet.append(ws, [
            row["rank"], row["name"], row["slug"], row["own_pack"], own.get("mean"), ref.get("mean"), own.get("min"),
            own.get("median"), ref.get("min"), ref.get("median"), m.get("on_time_rate"),
            m.get("avg_overdue_working_days"), m.get("redo_rate"), m.get("feedback_punctuality"),
            m.get("no_answer_share"), (m.get("matters_by_category") or {}).get("total"), row["as_of"], refreshed])
    defs = wb.create_sheet("指标定义")
    spreadsheet.append(defs, ["指标", "定义", "Metric", "Definition"])
    for cell in defs[1]:
        cell.font = Font(bold=True)
    for item in metrics.DEFINITIONS.values():
        spreadsheet.append(defs, [item["label"]["zh-hans"], item["definition"]["zh-hans"], item["label"]["en"],
                                  item["definition"]["en"]])
    content = spreadsheet.workbook_bytes(wb)
    filename = f"comparison-{city.code}-{table['period']['kind']}-{table['period']['start']}.xlsx"
    return content, filename
