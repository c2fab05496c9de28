"""City comparison: snapshots in the public schema, metrics, fair comparison under a reference
pack, the public-host API (isolation, bounded queries, no county schema touched)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from conftest import PASSWORD
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from matter_helpers import make_cast, to_state
from packs_fixture import on_path, pip_install

from duban.accounts.actions import do_issue_token
from duban.comparison import metrics, service
from duban.comparison.actions import do_set_reference_pack
from duban.comparison.models import CountySnapshot
from duban.comparison.refresh import refresh_all, refresh_county
from duban.comparison.tasks import debounce_key
from duban.core import clock
from duban.core.clock import as_of
from duban.supervision.actions import do_record_manual_step
from tenants import provisioning

# The comparison's periods run up to the county's date: every test here runs as of 26 November
# 2026, the day its figures were worked out for, whatever the real date.
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-26")]
Q4 = date(2026, 10, 1)
EVIDENCE = {
    "phone": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
    "written_notice": {"requirements": "三日内专题答复", "reply_due": "2026-12-05"},
}


@pytest.fixture(scope="session")
def strict_dir(tmp_path_factory):
    return pip_install(tmp_path_factory.mktemp("cmp-packs") / "strict", "duban-pack-strict")


@pytest.fixture
def strict(strict_dir):
    with on_path(strict_dir) as registry:
        yield registry


def _populate(county):
    """Units T01, D01 (+ T99) and people as in conftest; D01 gets two phone calls and a written
    notice on 2026-11-20 on a matter it leads."""
    from duban.accounts.actions import do_create_user
    from duban.accounts.models import Role
    from duban.units.actions import do_create_unit
    from duban.units.models import Unit

    with tenant_context(county):
        if not Unit.objects.filter(code="D01").exists():
            u1 = do_create_unit("T01", "一号镇", "township", actor="tests")
            u2 = do_create_unit("D01", "一号局", "department", actor="tests")
            do_create_user("staff", actor="tests", role=Role.SUPERVISION_STAFF, password=PASSWORD)
            do_create_user("clerk", actor="tests", role=Role.UNIT_STAFF, password=PASSWORD, unit=u2)
            do_create_user("clerk1", actor="tests", role=Role.UNIT_STAFF, password=PASSWORD, unit=u1)
        cast = make_cast()
        with as_of(date(2026, 11, 2)):  # due 2026-11-16: the steps of the 20th come after the deadline
            matter = to_state(cast, "in_progress", deadline_working_days=10)
        for tier in ("phone", "phone", "written_notice"):
            do_record_manual_step(matter.pk, actor=cast.staff, tier=tier, evidence=EVIDENCE[tier],
                                        on=date(2026, 11, 20))
        return cast, matter


CASTS = {}


@pytest.fixture
def three(world, strict):
    """alpha and beta on county_default, gamma on county_strict, all in testcity; alpha and gamma
    have the same supervision history; beta has none."""
    gamma = provisioning.create_county("gamma", "丙县", "testcity", actor="tests", rulepack="county_strict",
                                       admin_password=PASSWORD).county
    CASTS["alpha"], _ = _populate(world.alpha)
    CASTS["gamma"], _ = _populate(gamma)
    connection.set_schema_to_public()
    world.alpha.refresh_from_db()
    world.beta.refresh_from_db()
    return world.alpha, world.beta, gamma


def _operator():
    from duban.accounts.actions import do_create_user

    user = do_create_user("cmp_operator", actor="tests", role="platform_operator", password=PASSWORD)
    return do_issue_token(user, actor="tests")


def _get(path, token, **params):
    return Client().get(path, params, HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {token}")


def _rows(body):
    return {row["slug"]: row for row in body["counties"]}


def test_own_and_reference_scores_differ_as_the_packs_dictate(three):
    alpha, beta, gamma = three
    city = alpha.city
    do_set_reference_pack(city, "county_strict", actor="tests")
    refresh_all([alpha, beta, gamma])
    rows = _rows(service.comparison(city, "quarter", Q4))
    # Own pack: alpha's D01 lost 2×0.1 + 0.2 = 0.4 (county_default); gamma's D01 2×0.15 + 0.2 = 0.5.
    assert rows["alpha"]["own_pack_scores"]["min"] == 2.6
    assert rows["gamma"]["own_pack_scores"]["min"] == 2.5
    # Under the reference pack (county_strict) both are 2.5: the same history, the same rules.
    assert rows["alpha"]["reference_pack_scores"]["min"] == 2.5
    assert rows["gamma"]["reference_pack_scores"]["min"] == 2.5
    assert rows["beta"]["own_pack_scores"]["min"] == rows["beta"]["reference_pack_scores"]["min"] == 3.0
    assert rows["alpha"]["own_pack"] == "county_default==1.0.0" and rows["gamma"]["own_pack"] == "county_strict==2.1.0"
    assert all(r["reference_pack"] == "county_strict==2.1.0" and r["fresh"] for r in rows.values())
    # alpha has units T01, D01, T99: mean (3.0 + 2.6 + 3.0) / 3 own, (3.0 + 2.5 + 3.0) / 3 rescored.
    assert rows["alpha"]["own_pack_scores"]["mean"] == pytest.approx(8.6 / 3, abs=1e-4)
    assert rows["alpha"]["reference_pack_scores"]["mean"] == pytest.approx(8.5 / 3, abs=1e-4)

    # With county_default as the reference, gamma is rescored up to alpha's 2.6.
    do_set_reference_pack(city, "county_default", actor="tests")
    stale = _rows(service.comparison(city, "quarter", Q4))
    assert not stale["alpha"]["fresh"] and "reference pack" in stale["alpha"]["stale_because"]
    refresh_all([alpha, beta, gamma])
    rows = _rows(service.comparison(city, "quarter", Q4))
    assert rows["gamma"]["own_pack_scores"]["min"] == 2.5
    assert rows["gamma"]["reference_pack_scores"]["min"] == 2.6
    assert rows["alpha"]["own_pack_scores"]["min"] == rows["alpha"]["reference_pack_scores"]["min"] == 2.6
    # Ranking by the reference pack's mean: beta (no deductions) first, alpha and gamma tied.
    assert [(r["slug"], r["rank"]) for r in service.comparison(city, "quarter", Q4)["counties"]] == [
        ("beta", 1), ("alpha", 2), ("gamma", 2)]


def test_metrics_of_a_period(three):
    alpha, _, _ = three
    refresh_county(alpha)
    snap = CountySnapshot.objects.get(county=alpha, period_kind="quarter", period_start=Q4)
    m = snap.metrics
    assert m["matters_by_category"] == {"work_report": 1, "total": 1}
    assert m["matters_under_way"] == 1
    assert m["steps"] == {"phone": 2, "written_notice": 1}
    assert m["steps_per_100"]["phone"] == 200.0 and m["steps_per_100"]["written_notice"] == 100.0
    assert m["steps_per_100"]["onsite"] == 0.0  # every tier of the pack is listed
    assert m["redo_rate"] is None and m["reviews"] == {"total": 0, "redo": 0}
    assert snap.own_pack_scores["n"] == 3
    # Month and year snapshots exist too; a past month's as-of is its end.
    assert CountySnapshot.objects.filter(county=alpha, period_kind="year", period_start=date(2026, 1, 1)).exists()
    november = CountySnapshot.objects.get(county=alpha, period_kind="month", period_start=date(2026, 11, 1))
    assert november.metrics["steps"] == {"phone": 2, "written_notice": 1}
    assert set(service.definitions()) >= {"on_time_rate", "avg_overdue_working_days", "steps_per_100", "redo_rate",
                                          "feedback_punctuality", "unit_scores", "no_answer_share",
                                          "matters_by_category"}


def test_overdue_and_no_answer(world):
    """A matter past its deadline with no answer: on-time rate 0, overdue working days counted,
    no-answer share 1."""
    with tenant_context(world.alpha):
        cast = make_cast()
        with as_of(date(2026, 10, 8)):
            to_state(cast, "in_progress", deadline_working_days=5)  # due 2026-10-14 (Sat 10th is a 调休 workday)
    connection.set_schema_to_public()
    refresh_county(world.alpha, today=date(2026, 10, 22))
    m = CountySnapshot.objects.get(county=world.alpha, period_kind="month", period_start=date(2026, 10, 1)).metrics
    assert m["on_time"] == {"due": 1, "on_time": 0} and m["on_time_rate"] == 0.0
    assert m["avg_overdue_working_days"] == 6.0  # 15, 16, 19, 20, 21, 22 October
    assert m["no_answer"] == {"open": 1, "silent": 1} and m["no_answer_share"] == 1.0


def test_a_county_on_the_reference_pack_scores_the_same_under_both(world):
    """Own pack and reference pack are the same pack: every snapshot's two score distributions
    agree. Send-backs that name different units are the case that split them (the 2.990 beside
    3.000 of issue 20): the ledger counts a matter's redos per unit charged (六(五), a0270ad), so
    D01's third send-back of a matter whose first one charged T01 is D01's second redo and costs
    nothing; the rescoring replay counted the matter's redos of every unit and charged D01 0.1."""
    from duban.matters import actions
    from duban.supervision.models import LedgerEntry

    with tenant_context(world.alpha):
        cast = make_cast()
        with as_of(date(2026, 10, 8)):
            matter = to_state(cast, "reported", deadline_working_days=10)
        for n, (day, units) in enumerate(((12, ["T01"]), (14, ["D01"]), (16, ["D01"]))):
            with as_of(date(2026, 10, day)):
                if n:
                    actions.do_report_result(matter.pk, actor=cast.lead_clerk, text=f"已补充材料（第{n + 1}次）。")
                actions.do_send_back(matter.pk, actor=cast.office, reasons="材料不全，请补充。", units=units)
        assert not LedgerEntry.objects.filter(matter=matter).exists()  # no unit was sent back three times
    connection.set_schema_to_public()
    do_set_reference_pack(world.alpha.city, "county_default", actor="tests")
    refresh_county(world.alpha)
    snapshots = list(CountySnapshot.objects.filter(county=world.alpha))
    assert snapshots and all(s.reference_pack == s.own_pack == "county_default==1.0.0" for s in snapshots)
    differ = [(s.period_kind, str(s.period_start), s.own_pack_scores, s.reference_pack_scores)
              for s in snapshots if s.own_pack_scores != s.reference_pack_scores]
    assert differ == []
    october = next(s for s in snapshots if s.period_kind == "month" and s.period_start == date(2026, 10, 1))
    assert october.own_pack_scores["min"] == october.reference_pack_scores["min"] == 3.0


def test_incremental_refresh_is_queued_on_commit_once_and_updates_the_snapshot(three,
                                                                              django_capture_on_commit_callbacks):
    alpha, _, _ = three
    refresh_county(alpha)
    before = CountySnapshot.objects.get(county=alpha, period_kind="quarter", period_start=Q4)
    cache.delete(debounce_key(alpha.schema_name))
    cast = CASTS["alpha"]
    with tenant_context(alpha):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with as_of(date(2026, 11, 2)):  # assigned before the step of the 24th
                matter = to_state(cast, "in_progress", deadline_working_days=10)
            do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=EVIDENCE["phone"],
                                        on=date(2026, 11, 24))
    connection.set_schema_to_public()
    assert callbacks  # the receivers scheduled work on commit …
    assert cache.get(debounce_key(alpha.schema_name))  # … and one refresh of alpha is pending (debounced)
    # What the queued task does (CountyTask in alpha's schema): recompute alpha's snapshots.
    with tenant_context(alpha):
        from duban.comparison.tasks import refresh_county_task

        refresh_county_task.run(kind="incremental")
    after = CountySnapshot.objects.get(county=alpha, period_kind="quarter", period_start=Q4)
    assert after.refresh_kind == "incremental" and after.refreshed_at > before.refreshed_at
    assert after.source_max_event_id > before.source_max_event_id
    assert after.metrics["steps"]["phone"] == before.metrics["steps"]["phone"] + 1
    assert after.metrics["matters_by_category"]["total"] == before.metrics["matters_by_category"]["total"] + 1
    assert cache.get(debounce_key(alpha.schema_name)) is None


def test_nightly_fan_out_runs_once_per_slot(world):
    from duban.comparison.tasks import fan_out_refresh

    first = fan_out_refresh.run()
    assert first >= 2 and fan_out_refresh.run() == 0


def test_api_city_user_sees_own_city_and_404_elsewhere(three):
    alpha, _, _ = three
    refresh_all(list(alpha.city.counties.all()))
    provisioning.create_city("farcity", "远方市", actor="tests")
    far = provisioning.create_city_user("farcity", "far_user", actor="tests", password=PASSWORD)
    mine = provisioning.create_city_user("testcity", "city_user", actor="tests", password=PASSWORD)
    far_token, my_token = do_issue_token(far, actor="tests"), do_issue_token(mine, actor="tests")
    for path in ("/api/v1/comparison/", "/api/v1/comparison/trends/", "/api/v1/comparison/export/"):
        assert _get(path, far_token, city="testcity").status_code == 404, path
        assert _get(path, far_token, city="nowhere").status_code == 404, path
    assert _get("/api/v1/comparison/testcity/reference-pack/", far_token).status_code == 404
    response = _get("/api/v1/comparison/", my_token, period="quarter", start="2026-10-01")  # own city by default
    assert response.status_code == 200
    body = response.json()
    assert body["city"]["code"] == "testcity" and set(_rows(body)) == {"alpha", "beta", "gamma"}
    assert body["definitions"]["on_time_rate"]["label"] == {"zh-hans": "按期办结率", "en": "On-time completion rate"}
    row = _rows(body)["alpha"]
    assert row["refreshed_at"] and row["age_seconds"] >= 0 and row["fresh"] and row["stale_because"] is None
    assert date.fromisoformat(row["as_of"]) <= clock.today()
    assert "matters" not in row  # aggregates only
    # A far city's own data is empty of testcity's counties.
    assert _rows(_get("/api/v1/comparison/", far_token).json()) == {}
    bad = _get("/api/v1/comparison/", my_token, period="quarter", start="2026-10-02")
    assert bad.status_code == 400 and "start" in bad.json()["error"]["fields"]
    # The city user chooses the reference pack of their own city.
    client = Client()
    set_ = client.post("/api/v1/comparison/testcity/reference-pack/", {"reference_pack": "county_strict"},
                       content_type="application/json", HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {my_token}")
    assert set_.status_code == 200 and set_.json()["reference_pack"] == "county_strict==2.1.0"
    refused = client.post("/api/v1/comparison/testcity/reference-pack/", {"reference_pack": "nope"},
                          content_type="application/json", HTTP_HOST="localhost",
                          HTTP_AUTHORIZATION=f"Token {my_token}")
    assert refused.status_code == 400


def test_trends_and_xlsx(three):
    from openpyxl import load_workbook

    alpha, _, _ = three
    refresh_all(list(alpha.city.counties.all()))
    token = _operator()
    trends = _get("/api/v1/comparison/trends/", token, city="testcity", end="2026-10-01", quarters=4).json()
    assert [q["start"] for q in trends["quarters"]] == ["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01"]
    series = {c["slug"]: c["series"] for c in trends["counties"]}
    assert series["alpha"]["own_mean_score"][-1] == pytest.approx(8.6 / 3, abs=1e-4)
    response = _get("/api/v1/comparison/export/", token, city="testcity", period="quarter", start="2026-10-01")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["对比", "指标定义"]
    slugs = [row[2] for row in wb["对比"].iter_rows(min_row=3, values_only=True)]
    assert set(slugs) == {"alpha", "beta", "gamma"}
    assert wb["指标定义"].max_row == 1 + len(metrics.DEFINITIONS)


def test_comparison_queries_are_bounded_and_touch_no_county_schema(three):
    alpha, beta, gamma = three
    refresh_all([alpha, beta, gamma])
    token = _operator()
    _get("/api/v1/comparison/", token, city="testcity")  # warm caches

    def measure():
        connection.set_schema_to_public()
        with CaptureQueriesContext(connection) as ctx:
            response = _get("/api/v1/comparison/", token, city="testcity", period="quarter", start="2026-10-01")
        assert response.status_code == 200
        return len(response.json()["counties"]), [q["sql"] for q in ctx.captured_queries]

    n3, queries3 = measure()
    for i in range(3):
        extra = provisioning.create_county(f"extra{i}", f"加{i}县", "testcity", actor="tests",
                                           admin_password=PASSWORD).county
        refresh_county(extra)
    n6, queries6 = measure()
    assert (n3, n6) == (3, 6)
    assert len(queries6) == len(queries3) <= 8, queries6
    schemas = set(tenants_schemas())
    for sql in queries6:  # no schema switch, no schema-qualified table of a county
        assert "search_path" not in sql.lower() or sql == 'SET search_path = "public"', sql
        assert not any(f'"{schema}".' in sql or f"{schema}." in sql for schema in schemas), sql
    assert connection.schema_name == "public"


def tenants_schemas():
    from tenants.models import County

    return County.objects.values_list("schema_name", flat=True)


def test_cli_compare_and_refresh(three, capsys):
    from django.core.management import call_command

    call_command("city", "refresh", "testcity", "--reference-pack", "county_strict")
    assert "已刷新" in capsys.readouterr().out
    call_command("city", "compare", "testcity", "--start", "2026-10-01")
    out = capsys.readouterr().out
    assert "county_strict==2.1.0" in out and "gamma" in out and "alpha" in out
    call_command("city", "list")
    assert "testcity" in capsys.readouterr().out


def _portal(user):
    client = Client()
    client.force_login(user)
    return client


def test_city_portal_shows_both_scores_the_charts_data_and_the_definitions(three):
    import json
    import re

    from duban.audit.models import AuditEvent

    alpha, _, _ = three
    city = alpha.city
    do_set_reference_pack(city, "county_strict", actor="tests")
    refresh_all(list(city.counties.all()))
    mine = provisioning.create_city_user("testcity", "portal_user", actor="tests", password=PASSWORD)
    client = _portal(mine)
    page = client.get("/city/", {"period": "quarter", "start": "2026-10-01"}, HTTP_HOST="localhost")
    assert page.status_code == 200
    body = page.content.decode()
    table = body[body.index('id="comparison-table"'):body.index("</table>", body.index('id="comparison-table"'))]
    rows = dict(re.findall(r'data-county="(\w+)">(.*?)</tr>', table, re.S))
    assert set(rows) == {"alpha", "beta", "gamma"}
    own = lambda slug: re.search(r'data-metric="own_mean_score">([^<]+)<', rows[slug]).group(1)  # noqa: E731
    ref = lambda slug: re.search(r'data-metric="reference_mean_score">([^<]+)<', rows[slug]).group(1)  # noqa: E731
    # Own packs differ (alpha 8.6/3, gamma 8.5/3); under county_strict both are 8.5/3.
    assert (own("alpha"), own("gamma"), ref("alpha"), ref("gamma")) == ("2.867", "2.833", "2.833", "2.833")
    assert "county_strict==2.1.0" in body and "2026年第4季度" in body
    # A pack is named by its regulation and the date of its version, not by its key (issue 20, point 2).
    assert "《县政务督查督办工作方案》（2026年11月25日版）" in rows["alpha"] and "county_default" not in rows["alpha"]
    charts = json.loads(re.search(r'<script id="comparison-charts" type="application/json">(.*?)</script>',
                                  body, re.S).group(1))
    assert charts["names"] == ["乙县", "甲县", "丙县"]  # ranked by the reference mean: beta first, then the tie by slug
    assert charts["scores"]["reference"] == [3.0, pytest.approx(8.5 / 3, abs=1e-4), pytest.approx(8.5 / 3, abs=1e-4)]
    assert charts["box"]["data"][1] == [2.5, 2.75, 3.0, 3.0, 3.0]
    assert [q for q in charts["trend"]["quarters"]][-1] == "2026年第4季度" and len(charts["trend"]["series"]) == 3
    for key, item in metrics.DEFINITIONS.items():
        assert f'id="def-{key}"' in body and item["definition"]["zh-hans"] in body
    assert "/api/v1/comparison/export/?city=testcity&amp;period=quarter&amp;start=2026-10-01" in body
    # No county's matters on the page: aggregates only.
    assert CASTS["alpha"].staff.username not in body and "matters/" not in body

    # A bad start re-renders with the field named and this quarter's table, status 400.
    bad = client.get("/city/", {"period": "quarter", "start": "2026-10-02"}, HTTP_HOST="localhost")
    assert bad.status_code == 400 and 'data-field="start"' in bad.content.decode()

    # The reference pack is chosen on the page (audited), a bad one is refused and changes nothing.
    refused = client.post("/city/reference-pack/", {"reference_pack": "nope"}, HTTP_HOST="localhost", follow=True)
    assert "参照规则包未更改" in refused.content.decode() and service.current_reference(city) == "county_strict==2.1.0"
    client.post("/city/reference-pack/", {"reference_pack": "county_default"}, HTTP_HOST="localhost")
    assert service.current_reference(city) == "county_default==1.0.0"
    assert AuditEvent.objects.filter(action="city.reference_pack", actor_label__contains="portal_user").exists()


def test_city_portal_shows_only_the_users_own_city(three):
    alpha, _, _ = three
    refresh_all(list(alpha.city.counties.all()))
    provisioning.create_city("farcity", "远方市", actor="tests")
    far = provisioning.create_city_user("farcity", "far_portal", actor="tests", password=PASSWORD)
    page = _portal(far).get("/city/", HTTP_HOST="localhost").content.decode()
    assert "远方市" in page and "甲县" not in page and "丙县" not in page
    from duban.accounts.actions import do_create_user

    operator = do_create_user("portal_op", actor="tests", role="platform_operator", password=PASSWORD)
    assert _portal(operator).get("/city/", HTTP_HOST="localhost").status_code == 403
    assert _portal(operator).post("/city/reference-pack/", {"reference_pack": "county_default"},
                                  HTTP_HOST="localhost").status_code == 403


def _normalised(rows):
    """Rows with their times parsed (PostgreSQL writes +00:00 where DRF writes Z) and the age
    allowed a second's difference (two clocks read a moment apart)."""
    from datetime import datetime

    out = []
    for row in rows:
        row = dict(row)
        if row["refreshed_at"] is not None:
            value = row["refreshed_at"]
            row["refreshed_at"] = (value if isinstance(value, datetime)
                                   else datetime.fromisoformat(value.replace("Z", "+00:00")))
        if row["as_of"] is not None and not isinstance(row["as_of"], str):
            row["as_of"] = row["as_of"].isoformat()
        row["age_seconds"] = None if row["age_seconds"] is None else row["age_seconds"] // 2
        out.append(row)
    return out


def _expected_rows(city, kind, start, rank_by):
    """The comparison's rows computed the plain way, from the snapshot rows in Python: the
    reference the SQL that builds them is checked against."""
    from django.utils import timezone

    reference = service.current_reference(city)
    if rank_by == "reference_mean_score" and not reference:
        rank_by = "own_mean_score"
    now = timezone.now()
    snaps = {s.county_id: s for s in CountySnapshot.objects.filter(county__city=city, period_kind=kind,
                                                                    period_start=start)}
    rows = []
    for county in city.counties.order_by("slug"):
        snap, own_pack = snaps.get(county.pk), f"{county.rulepack_name}=={county.rulepack_version}"
        row = {"slug": county.slug, "name": county.name, "status": county.status, "own_pack": own_pack,
               "metrics": None, "own_pack_scores": None, "snapshot_own_pack": None, "reference_pack": None,
               "reference_pack_scores": None, "as_of": None, "refreshed_at": None, "age_seconds": None,
               "refresh_kind": None, "source_max_event_id": None, "fresh": False,
               "stale_because": "never refreshed", "rank": None}
        if snap:
            reasons = [why for wrong, why in ((snap.own_pack != own_pack, "county changed its rule pack since"),
                                              ((snap.reference_pack or "") != reference,
                                               "city changed its reference pack since")) if wrong]
            row.update({"metrics": snap.metrics, "own_pack_scores": snap.own_pack_scores,
                        "snapshot_own_pack": snap.own_pack, "reference_pack": snap.reference_pack or None,
                        "reference_pack_scores": snap.reference_pack_scores, "as_of": snap.as_of,
                        "refreshed_at": snap.refreshed_at, "refresh_kind": snap.refresh_kind,
                        "age_seconds": int((now - snap.refreshed_at).total_seconds()),
                        "source_max_event_id": snap.source_max_event_id, "fresh": not reasons,
                        "stale_because": "; ".join(reasons) or None})
        rows.append(row)
    value = lambda row: service._rank_value(row, rank_by)  # noqa: E731
    sign = -1 if metrics.RANKABLE[rank_by] else 1
    ranked = sorted((r for r in rows if value(r) is not None), key=lambda r: (sign * value(r), r["slug"]))
    previous, rank = None, 0
    for position, row in enumerate(ranked, start=1):
        if value(row) != previous:
            rank, previous = position, value(row)
        row["rank"] = rank
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["slug"]))


@pytest.mark.parametrize("rank_by", sorted(metrics.RANKABLE))
def test_the_rows_built_by_postgresql_equal_a_plain_computation(three, rank_by):
    import json

    alpha, beta, gamma = three
    city = alpha.city
    do_set_reference_pack(city, "county_strict", actor="tests")
    CountySnapshot.objects.filter(county=beta).delete()  # a committed earlier test may have refreshed it
    refresh_all([alpha, gamma])  # beta: never refreshed (no row for this period)
    do_set_reference_pack(city, "county_default", actor="tests")  # every row now stale
    refresh_county(gamma)  # gamma fresh again
    for kind, start in (("quarter", "2026-10-01"), ("year", "2026-01-01"), ("month", "2025-01-01")):
        python = service.comparison(city, kind, start, rank_by=rank_by)
        sql = json.loads(service.comparison_json(city, kind, start, rank_by=rank_by))
        assert sql["rank_by"] == python["rank_by"] and sql["reference_pack"] == python["reference_pack"]
        expected = _normalised(_expected_rows(city, kind, start, rank_by))
        assert _normalised(sql["counties"]) == expected, (kind, rank_by)
        assert _normalised(python["counties"]) == expected, (kind, rank_by)
    rows = {r["slug"]: r for r in json.loads(service.comparison_json(city, "quarter", "2026-10-01"))["counties"]}
    assert rows["beta"]["stale_because"] == "never refreshed" and rows["beta"]["rank"] is None
    assert rows["alpha"]["stale_because"] == "city changed its reference pack since" and rows["gamma"]["fresh"]

