"""The REST API v1 end to end: a matter's whole life and the supervision records through HTTP,
the error body, scoping, the base viewset's guard, throttling and query budgets."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import api_key
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, make_cast, to_state

from duban.core.clock import as_of
from duban.supervision.actions import do_draft_circular, do_set_circular_lists

# The supervision history behind these routes is recorded as of autumn 2026 (steps up to 20
# December): the tests run as of the day after.
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-21")]


class Api:
    """A client for one person on one host."""

    def __init__(self, host: str, token: str | None):
        self.client = Client()
        self.headers = {"HTTP_HOST": host}
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Token {token}"

    def get(self, path, **params):
        return self.client.get(f"/api/v1/{path}", params, **self.headers)

    def post(self, path, data=None, **extra):
        return self.client.post(f"/api/v1/{path}", data or {}, content_type="application/json",
                                **self.headers, **extra)


def token_for(user) -> str:
    return api_key(user)


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


@pytest.fixture
def apis(world, cast):
    host = world.owner.host
    with tenant_context(world.alpha):
        return {name: Api(host, token_for(getattr(cast, name)))
                for name in ("leader", "office", "staff", "lead_clerk", "co_clerk", "other_clerk")}


def ok(response, status=200):
    assert response.status_code == status, response.content.decode()
    return response.json()


def test_a_matter_lives_its_whole_life_through_the_api(apis):
    leader, office, staff, clerk = apis["leader"], apis["office"], apis["staff"], apis["lead_clerk"]
    matter = ok(leader.post("matters/", {"title": "推进老旧小区改造", "content": "年底前交付。", "category": "work_report",
                                         "proposed_units": ["D01"], "requested_deadline": "2099-12-31"}), 201)
    mid = matter["id"]
    assert matter["state"] == "proposed" and matter["proposed_by"] == "m_leader"

    ok(staff.post(f"matters/{mid}/register/", {"expected_version": matter["version"]}))
    ok(leader.post(f"matters/{mid}/approve/", {"comment": "同意"}))
    assigned = ok(staff.post(f"matters/{mid}/assign/", {"lead_unit": "D01", "co_units": ["T01"],
                                                       "requirements": "按期办结", "deadline_working_days": 10}))
    assert assigned["state"] == "assigned"
    assert [(u["code"], u["role"]) for u in assigned["units"]] == [("D01", "lead"), ("T01", "co")]

    ok(clerk.post(f"matters/{mid}/sign/"))
    ok(clerk.post(f"matters/{mid}/feedback/", {"kind": "written", "text": "已开工"}), 201)
    ok(clerk.post(f"matters/{mid}/report/", {"text": "已完成"}), 201)
    back = ok(office.post(f"matters/{mid}/send-back/", {"reasons": "缺少验收材料"}), 201)
    assert back["decision"] == "redo"
    ok(clerk.post(f"matters/{mid}/report/", {"text": "补充了验收材料"}), 201)
    ok(office.post(f"matters/{mid}/accept/", {"reasons": "同意办结"}), 201)

    detail = ok(staff.get(f"matters/{mid}/"))
    assert detail["state"] == "closed" and detail["redo_count"] == 1
    assert [r["attempt"] for r in detail["reports"]] == [1, 2]
    assert [r["review"]["decision"] for r in detail["reports"]] == ["redo", "accept"]
    assert [f["text"] for f in detail["feedback"]] == ["已开工"]

    timeline = ok(staff.get(f"matters/{mid}/timeline/"))
    assert [e["action"] for e in timeline["results"]] == [
        "matter.propose", "matter.register", "matter.approve", "matter.assign", "matter.sign", "matter.feedback",
        "matter.report", "matter.send_back", "matter.report", "matter.accept"]
    # The clerk sees the matter in the list; a clerk of another unit does not, and gets 404 on it.
    assert [m["id"] for m in ok(clerk.get("matters/"))["results"]] == [mid]
    assert ok(apis["other_clerk"].get("matters/"))["results"] == []
    assert apis["other_clerk"].get(f"matters/{mid}/").status_code == 404
    assert apis["other_clerk"].get(f"matters/{mid}/timeline/").status_code == 404


def test_errors_name_the_field_and_say_what_is_wrong(apis, cast):
    staff, leader = apis["staff"], apis["leader"]
    # Serializer-level: a field missing and a date that is not a date.
    body = leader.post("matters/", {"title": "x", "category": "work_report", "requested_deadline": "tomorrow"}).json()
    assert set(body["error"]["fields"]) == {"content", "requested_deadline"}
    assert body["error"]["code"] == "invalid"
    # Action-level: an unknown category is named by the action function.
    response = leader.post("matters/", {"title": "x", "content": "y", "category": "no_such_scope"})
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["category"]

    matter = ok(leader.post("matters/", {"title": "x", "content": "y", "category": "work_report"}), 201)
    # Wrong role: a leader may not register (403), a unit clerk cannot even see it (404).
    assert leader.post(f"matters/{matter['id']}/register/").status_code == 403
    assert apis["lead_clerk"].post(f"matters/{matter['id']}/register/").status_code == 404
    # Stale version → 409 stale_version; a step that does not apply in this state → 409 invalid_state.
    stale = staff.post(f"matters/{matter['id']}/register/", {"expected_version": 99})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    ok(staff.post(f"matters/{matter['id']}/register/"))
    again = staff.post(f"matters/{matter['id']}/register/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    assert "批准立项" in again.json()["error"]["message"]
    # Nothing was lost by the failures: one register event, state registered.
    assert ok(staff.get(f"matters/{matter['id']}/"))["state"] == "registered"
    assert [e["action"] for e in ok(staff.get(f"matters/{matter['id']}/timeline/"))["results"]] == [
        "matter.propose", "matter.register"]
    # Unknown ids and non-numeric ids are plain 404s with the same body.
    bodies = []
    for path in ("matters/999999/", "matters/abc/", "steps/999999/", "ledger/abc/"):
        response = staff.get(path)
        assert response.status_code == 404
        bodies.append(response.json())
    bodies.append(staff.post("matters/999999/register/").json())  # raised by the action function
    assert bodies == [{"error": {"code": "not_found", "message": "未找到。"}}] * 5
    # English on request.
    english = \
        staff.client.get("/api/v1/matters/999999/", HTTP_ACCEPT_LANGUAGE="en", **staff.headers)
    assert english.json()["error"]["message"] == "Not found."


def test_escalation_steps_ledger_scores_and_reversal(apis, cast, world):
    from duban.supervision import steps as step_actions

    staff, office, clerk = apis["staff"], apis["office"], apis["lead_clerk"]
    with tenant_context(world.alpha):
        with as_of(date(2026, 9, 1)):
            matter = to_state(cast, "in_progress", deadline_working_days=10)
        with as_of(date(2026, 11, 20)):
            opened = step_actions.sweep()
    assert opened, "the overdue matter should have a step due"
    due = ok(staff.get("steps/", status="due", matter=matter.pk))["results"]
    assert [(s["tier"], s["unit"]) for s in due] == [("phone", "D01")]
    # Missing evidence is a 400 naming the evidence field the pack requires.
    bad = staff.post(f"steps/{due[0]['id']}/record/", {"evidence": {}})
    assert bad.status_code == 400 and any(k.startswith("evidence") for k in bad.json()["error"]["fields"])
    step = ok(staff.post(f"steps/{due[0]['id']}/record/", {
        "evidence": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
        "on": "2026-11-20"}))
    assert step["status"] == "recorded"
    # Unit staff may not record steps (403); the clerk sees the step of their own unit.
    assert clerk.post(f"steps/{due[0]['id']}/record/", {"evidence": {}}).status_code == 403
    assert [s["id"] for s in ok(clerk.get("steps/"))["results"]] == [step["id"]]
    assert ok(apis["co_clerk"].get("steps/"))["results"] == []

    entries = ok(staff.get("ledger/", year=2026, unit="D01"))["results"]
    assert [(e["amount"], e["rule_code"]) for e in entries] == [("0.10", "phone_urging")]
    scores = {row["unit"]: row for row in ok(staff.get("scores/", year=2026))}
    assert scores["D01"]["score"] == "2.90" and scores["T01"]["score"] == "3.00"
    statement = ok(clerk.get("scores/D01/", year=2026))
    assert statement["score"] == "2.90" and [line["entry"]["id"] for line in statement["lines"]] == [entries[0]["id"]]
    # A clerk reads only their own unit's statement.
    assert clerk.get("scores/T01/", year=2026).status_code == 404
    assert [row["unit"] for row in ok(clerk.get("scores/", year=2026))] == ["D01"]

    assert staff.post(f"ledger/{entries[0]['id']}/reverse/", {"reason": "误记"}).status_code == 403
    reversal = ok(office.post(f"ledger/{entries[0]['id']}/reverse/", {"reason": "误记"}), 201)
    assert reversal["amount"] == "-0.10" and reversal["reverses"] == entries[0]["id"]
    assert ok(staff.get("scores/D01/", year=2026))["score"] == "3.00"
    bad = staff.get("scores/", year="last year")
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["year"]


def test_circulars_and_rulepack(apis, world, cast):
    staff, office, clerk = apis["staff"], apis["office"], apis["lead_clerk"]
    with tenant_context(world.alpha):
        circular_record(cast, on=date(2026, 3, 2))  # T01 closed a matter on time in Q1; D01 is overdue
    draft = ok(staff.post("circulars/", {"title": "第一季度通报", "period_start": "2026-01-01",
                                          "period_end": "2026-03-31"}), 201)
    assert draft["status"] == "draft"
    assert clerk.get(f"circulars/{draft['id']}/").status_code == 404  # drafts are the office's
    ok(staff.post(f"circulars/{draft['id']}/lists/", {"praised": ["T01"], "criticised": ["D01"], "body": "正文"}))
    assert staff.post(f"circulars/{draft['id']}/publish/").status_code == 403
    published = ok(office.post(f"circulars/{draft['id']}/publish/"))
    assert published["status"] == "published" and published["notice_number"]
    assert ok(clerk.get(f"circulars/{draft['id']}/"))["criticised"] == ["D01"]

    pack = ok(clerk.get("rulepack/"))
    assert pack["name"] == "county_default" and pack["schedule"]["base"] == "3.0"
    assert [t["code"] for t in pack["tiers"]][:2] == ["phone", "written_notice"]


def test_units_and_users_are_the_county_admins(world, apis):
    with tenant_context(world.alpha):
        from duban.accounts.models import User

        admin = Api(world.owner.host, token_for(User.objects.get(username="admin")))
    unit = ok(admin.post("units/", {"code": "T02", "name": "二号镇", "kind": "township"}), 201)
    assert unit["kind_label"]
    assert apis["staff"].post("units/", {"code": "T03", "name": "三号镇", "kind": "township"}).status_code == 403
    taken = admin.post("units/", {"code": "T02", "name": "又一个镇", "kind": "township"})
    assert taken.status_code == 400 and list(taken.json()["error"]["fields"]) == ["code"]
    user = ok(admin.post("users/", {"username": "t02clerk", "role": "unit_staff", "unit": "T02",
                                    "password": "Long-enough-2026", "full_name": "赵六"}), 201)
    assert user["unit"] == "T02" and "password" not in user
    weak = admin.post("users/", {"username": "weak", "role": "supervision_staff", "password": "123"})
    assert weak.status_code == 400 and "password" in weak.json()["error"]["fields"]
    public_role = admin.post("users/", {"username": "x", "role": "city_user", "password": "Long-enough-2026"})
    assert public_role.status_code == 400 and "role" in public_role.json()["error"]["fields"]
    assert apis["staff"].get("users/").status_code == 403
    me = ok(apis["lead_clerk"].get("me/"))
    assert me["unit"] == "D01" and me["county"] == {"slug": "alpha", "name": "甲县"}


def test_a_token_works_only_on_its_own_countys_host(world):
    alpha_token = world.owner.token
    assert Api(world.owner.host, alpha_token).get("me/").status_code == 200
    assert Api(world.outsider.host, alpha_token).get("me/").status_code == 401
    assert Api("localhost", alpha_token).get("me/").status_code == 401
    assert Api(world.owner.host, None).get("matters/").status_code == 401


def test_public_host_lists_only_the_city_users_own_city(world):
    from tenants import provisioning

    provisioning.create_city("othercity", "别的市", actor="tests")
    mine = provisioning.create_city_user("testcity", "cityuser", actor="tests", password="Long-enough-2026")
    theirs = provisioning.create_city_user("othercity", "otheruser", actor="tests", password="Long-enough-2026")
    mine_api, theirs_api = Api("localhost", token_for(mine)), Api("localhost", token_for(theirs))
    assert [c["code"] for c in ok(mine_api.get("cities/"))["results"]] == ["testcity"]
    assert [c["slug"] for c in ok(mine_api.get("counties/"))["results"]] == ["alpha", "beta"]
    assert ok(mine_api.get("counties/alpha/"))["rulepack_name"] == "county_default"
    assert ok(theirs_api.get("counties/"))["results"] == []
    assert theirs_api.get("counties/alpha/").status_code == 404
    assert theirs_api.get("cities/testcity/").status_code == 404
    assert ok(mine_api.get("me/"))["city"] == "testcity"
    # A city user's token means nothing on a county host.
    assert Api(world.owner.host, token_for(mine)).get("me/").status_code == 401


def test_viewsets_cannot_override_the_scoping_by_accident():
    from api.base import CountyViewSet

    with pytest.raises(TypeError, match="safely_get_queryset"):
        class Careless(CountyViewSet):
            def get_queryset(self):
                return None

    class Knowing(CountyViewSet):  # the escape hatch has a name that shows in review
        def dangerously_get_queryset(self):
            return []

    assert Knowing().get_queryset() == []


def test_throttling_counts_per_county_and_user(world, settings):
    from django.core.cache import cache

    cache.clear()
    settings.DUBAN_API_THROTTLE = {"user": "3/min", "anon": "2/min"}
    alpha, beta = Api(world.owner.host, world.owner.token), Api(world.outsider.host, world.outsider.token)
    assert [alpha.get("me/").status_code for _ in range(4)] == [200, 200, 200, 429]
    body = alpha.get("me/").json()
    assert body["error"]["code"] == "throttled"
    # Same user id in another county: its own budget.
    assert beta.get("me/").status_code == 200
    cache.clear()


def test_a_step_started_through_the_api_needs_its_reason_and_shows_it_as_the_web_does(apis, cast, world):
    """主动督办 through the API is the web's action (do_start_step): without a reason it is a 400
    naming ``reason`` and nothing is recorded; with one, the timeline says why, as after the web's
    form. (The route recorded the step with no reason and no 主动督办 entry before.)"""
    staff = apis["staff"]
    with tenant_context(world.alpha):
        with as_of(date(2026, 9, 1)):
            matter = to_state(cast, "in_progress", deadline_working_days=10)
    body = {"matter": matter.pk, "tier": "phone", "unit": "D01", "on": "2026-11-20",
            "evidence": {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"}}
    refused = staff.post("steps/", body)
    assert refused.status_code == 400 and "reason" in refused.json()["error"]["fields"], refused.content
    assert ok(staff.get("steps/", matter=matter.pk))["results"] == []
    step = ok(staff.post("steps/", {**body, "reason": "省里明天来检查此事项"}), 201)
    assert step["status"] == "recorded" and step["tier"] == "phone"
    entries = ok(staff.get(f"matters/{matter.pk}/timeline/"))["results"]
    started = [e for e in entries if e["action"] == "matter.step_started"]
    assert len(started) == 1 and started[0]["note"] == "省里明天来检查此事项", entries


LIST_ENDPOINTS = ["matters/", "change-requests/", "rounds/", "steps/", "ledger/", "scores/", "circulars/",
                  "inspection-rounds/", "inspection-items/", "units/", "users/", "matters/no-answer/"]


@pytest.mark.parametrize("path", LIST_ENDPOINTS)
def test_list_endpoints_keep_to_their_query_budget(path, world, cast):
    """The number of queries of a list does not grow with its rows (no N+1)."""
    from rest_framework.test import APIClient

    from duban.accounts.models import User
    from duban.supervision import steps as step_actions
    from duban.supervision.actions import do_record_step

    def count_queries() -> int:
        client = APIClient()
        with tenant_context(world.alpha):
            admin = User.objects.get(username="admin")
        person = admin if path == "users/" else cast.staff
        client.force_authenticate(person)
        client.get(f"/api/v1/{path}", {"year": 2026}, HTTP_HOST=world.owner.host)  # warm caches
        counts = []
        for _ in range(2):  # the fewer of two: a cache expiring between calls is not the view's doing
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"/api/v1/{path}", {"year": 2026}, HTTP_HOST=world.owner.host)
            assert response.status_code == 200, response.content
            # The host's tenant lookup and search_path have their own tests (test_tenant_cache).
            counts.append(len([q for q in ctx.captured_queries
                               if '"tenants_' not in q["sql"] and not q["sql"].startswith("SET search_path")]))
        return min(counts)

    def add_rows(n):
        with tenant_context(world.alpha):
            with as_of(date(2026, 9, 1)):
                matters = [to_state(cast, "in_progress", deadline_working_days=10) for _ in range(n)]
            for matter in matters:
                from duban.matters import actions
                actions.do_request_extension(matter.pk, actor=cast.lead_clerk, new_deadline=date(2026, 12, 30),
                                             reason="雨季")
                actions.do_open_round(actor=cast.staff, title="征集", due_date=date(2099, 1, 1),
                                      leaders=[cast.leader])
            with as_of(date(2026, 11, 20)):
                step_actions.sweep()
            for step in step_actions.EscalationStep.objects.filter(status="due"):
                do_record_step(step.pk, actor=cast.staff, evidence={
                    "contact": "王", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"},
                    on=date(2026, 11, 20))
            circular_record(cast, on=date(2026, 3, 2))
            draft = do_draft_circular(actor=cast.staff, title="通报", period_start=date(2026, 1, 1),
                                                period_end=date(2026, 3, 31))
            do_set_circular_lists(draft.pk, actor=cast.staff, praised=["T01"], criticised=[])
            with as_of(date(2026, 12, 20)):
                from duban.supervision.inspection import open_inspection_if_due
                open_inspection_if_due()
            from duban.accounts.actions import do_create_user
            from duban.units.actions import do_create_unit
            for i in range(n):
                unit = do_create_unit(f"X{n}{i}", f"新单位{n}-{i}", "department", actor="tests")
                do_create_user(f"x{n}u{i}", actor="tests", role="unit_staff", password=None, unit=unit)

    add_rows(2)
    few = count_queries()
    add_rows(6)
    many = count_queries()
    assert many == few, f"{path}: {few} queries with few rows, {many} with more"
    assert few <= 12, f"{path}: {few} queries"


def test_token_cli_issues_rotates_and_revokes(world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    def issue():
        out = StringIO()
        call_command("token", "issue", "--county", "alpha", "clerk", stdout=out, stderr=StringIO())
        return out.getvalue().strip()

    with tenant_context(world.alpha):
        from duban.audit.models import AuditEvent
        start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    first = issue()
    assert Api(world.owner.host, first).get("me/").json()["username"] == "clerk"
    second = issue()
    assert second != first
    assert Api(world.owner.host, first).get("me/").status_code == 401
    assert Api(world.owner.host, second).get("me/").status_code == 200
    call_command("token", "revoke", "--county", "alpha", "clerk", stdout=StringIO())
    assert Api(world.owner.host, second).get("me/").status_code == 401
    with pytest.raises(CommandError, match="本县没有用户名为“nobody”的用户"):
        call_command("token", "issue", "--county", "alpha", "nobody", stdout=StringIO())
    with tenant_context(world.alpha):
        assert list(AuditEvent.objects.filter(action__startswith="token.", id__gt=start).order_by("id")
                    .values_list("action", flat=True)) == ["token.rotate", "token.rotate", "token.revoke"]


def test_fast_matter_list_matches_the_serializer(apis, cast, world):
    """The matter list is built by hand for speed; it must say exactly what MatterOut says."""
    from api.matters import MatterOut
    from duban.matters.models import Matter

    with tenant_context(world.alpha):
        for state in ("proposed", "assigned", "in_progress", "closed"):
            to_state(cast, state) if state != "closed" else None
    listed = ok(apis["staff"].get("matters/"))["results"]
    with tenant_context(world.alpha):
        one_by_one = [dict(MatterOut(Matter.objects.get(pk=row["id"])).data) for row in listed]
    assert len(listed) == 3
    assert listed == [{k: (list(map(dict, v)) if k == "units" else v) for k, v in row.items()} for row in one_by_one]


def test_every_operation_with_a_body_has_an_example(world):
    schema = Api(world.owner.host, world.owner.token).client.get(
        "/api/v1/schema/?format=json", HTTP_HOST=world.owner.host).json()
    missing = [op["operationId"] for path in schema["paths"].values() for op in path.values()
               if "requestBody" in op
               and not all("examples" in media for media in op["requestBody"]["content"].values())]
    assert not missing, f"operations without a request example: {missing} (api/examples.py)"
