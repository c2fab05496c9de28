"""The isolation matrix: every API route × persona × method → the expected status.

The routes come from the URL configuration (county and public hosts). A route or method without
an entry in MATRIX fails ``test_every_route_has_an_entry`` — add the entry when you add the route.

Personas (architecture.md, house style 5):
- ``owner``: the person whose role the route is for, acting on an object of their own scope
  (the entry names who that is);
- ``colleague``: unit staff of another unit in the same county (not on the matter);
- ``outsider_home``: a user of another county, on their own county's host, asking for this
  county's object ids — 404, the same as a missing object (no existence leak);
- ``outsider_here``: the same user's token sent to this county's host — 401 (a token is valid
  only on its county's host);
- ``anonymous``: no credentials — 401;
- ``other_role`` (where the entry names one): someone who sees the object but whose role may not
  do this — 403, which tells nothing they could not already see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context
from matter_helpers import circular_record, make_cast, to_state
from summary import LINES

from duban.accounts.actions import do_issue_token
from duban.core.clock import as_of
from duban.matters import actions
from duban.supervision.actions import do_draft_circular, do_record_manual_step

# The records behind the routes are made as of days in autumn 2026: the tests run as of the day after.
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-21")]

PERSONAS = ("owner", "other_role", "colleague", "outsider_home", "outsider_here", "anonymous")
PASSWORD = "Long-enough-2026"
PHONE = {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"}
NOTICE = {"requirements": "三日内专题答复", "reply_due": "2099-12-05"}


# --- objects each route acts on (built fresh for every test) ------------------------------------------
def _overdue(cast, state="in_progress"):
    with as_of(date(2026, 9, 1)):
        return to_state(cast, state, deadline_working_days=10)


def _part_due(cast):
    """A matter under way whose co-operating unit (T01) has signed but not reported its part."""
    with as_of(date(2026, 9, 1)):
        matter = to_state(cast, "assigned", deadline_working_days=10)
        actions.do_sign_for_receipt(matter.pk, actor=cast.lead_clerk)
        actions.do_sign_for_receipt(matter.pk, actor=cast.co_clerk)
    matter.refresh_from_db()
    return matter


def _due_step(cast, tier="phone"):
    from duban.supervision import steps
    from duban.supervision.models import EscalationStep

    matter = _overdue(cast)
    if tier == "phone":
        with as_of(date(2026, 11, 20)):
            steps.sweep()
        return EscalationStep.objects.get(matter=matter, status="due")
    pack = steps.county_pack()
    return EscalationStep.objects.create(
        matter=matter, unit=matter.lead_unit, tier=tier, tier_index=[t.code for t in pack.tiers].index(tier),
        status="due", source="manual", pack_name=pack.name, pack_version=pack.version, due_on=date(2026, 11, 20))


def _noticed_step(cast):

    matter = _overdue(cast)
    do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=PHONE, on=date(2026, 11, 20))
    return do_record_manual_step(matter.pk, actor=cast.staff, tier="written_notice", evidence=NOTICE,
                                       on=date(2026, 11, 21))


def _entry(cast):
    from duban.supervision.models import LedgerEntry

    step = _noticed_step(cast)
    return LedgerEntry.objects.filter(step=step).get()


def _circular(cast):

    circular_record(cast, on=date(2026, 3, 2))  # what praise for T01 rests on
    return do_draft_circular(actor=cast.staff, title="第一季度通报", period_start=date(2026, 1, 1),
                                       period_end=date(2026, 3, 31))


def _published_circular(cast):
    from duban.supervision.actions import do_publish_circular, do_set_circular_lists

    circular = _circular(cast)
    do_set_circular_lists(circular.pk, actor=cast.staff, praised=["T01"], criticised=[])
    return do_publish_circular(circular.pk, actor=cast.office)


def _workbook(rows):
    import io

    import openpyxl
    from django.core.files.uploadedfile import SimpleUploadedFile

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("导入.xlsx", out.getvalue(),
                              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _matters_file(cast):
    return {"kind": "matters", "proposed_by": "m_leader", "file": _workbook([
        ["事项名称", "事项内容", "督办类别", "建议责任单位"], ["推进智慧停车建设", "年底前建成", "work_report", "D01"]])}


def _inspection_item(cast):
    from duban.supervision.inspection import open_inspection_if_due

    _overdue(cast)
    with as_of(date(2026, 12, 20)):
        round_ = open_inspection_if_due()
    return round_.items.first()


def _request(cast):
    matter = _overdue(cast)
    return actions.do_request_extension(matter.pk, actor=cast.lead_clerk, new_deadline=date(2026, 12, 30),
                                        reason="雨季施工")


def _round(cast):
    return actions.do_open_round(actor=cast.staff, title="年度督办事项征集", due_date=date(2099, 1, 1),
                                 leaders=[cast.leader])


def _unit(cast):
    from duban.units.models import Unit

    return Unit.objects.get(code="D01")


def _user(cast):
    return cast.lead_clerk


def _document(cast):
    from duban.matters.documents import assignment_notice_document

    return assignment_notice_document(_matter("assigned")(cast), actor=cast.staff)


def _weekly_draft(cast):
    from duban.reports.weekly import draft_weekly_report

    _overdue(cast)
    return draft_weekly_report(date(2026, 11, 21), actor="tests").report


def _weekly_submitted(cast):
    from duban.reports.actions import do_submit_weekly_report

    return do_submit_weekly_report(_weekly_draft(cast).pk, actor=cast.staff)


def _notification(cast):
    _matter("assigned")(cast)
    return cast.lead_clerk.notifications.order_by("-id").first()


def _matter(state):
    return lambda cast: _overdue(cast, state) if state in ("in_progress", "reported") else to_state(cast, state)


def _file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("说明.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")


@dataclass
class Entry:
    """What one (method, route) answers to each persona."""

    owner: str                      # cast attribute: staff, office, leader, admin, lead_clerk
    status: int                     # the owner's status
    obj: Callable | None = None     # builds the object of a detail route
    body: Callable | dict | None = None
    colleague: int = 404
    outsider_home: int | None = 404  # None: not a per-object route (lists, creates)
    query: dict = field(default_factory=dict)
    multipart: bool = False
    other_role: str | None = None   # someone who sees the object but whose role may not act: 403


def detail(owner, status=200, obj=None, body=None, colleague=404, **kw) -> Entry:
    return Entry(owner, status, obj, body, colleague, **kw)


def listing(owner="staff", colleague=200, **kw) -> Entry:
    return Entry(owner, 200, None, None, colleague, outsider_home=None, **kw)


def create(owner, body, colleague=403, status=201) -> Entry:
    return Entry(owner, status, None, body, colleague, outsider_home=None)


def _proposal(cast):
    return {"title": "推进老旧小区改造", "content": "年底前交付", "category": "work_report", "proposed_units": ["D01"]}


def _manual_step(cast):
    return {"matter": _overdue(cast).pk, "tier": "phone", "evidence": PHONE, "on": "2026-11-20", "reason": "临近期限"}


MATRIX: dict[str, Entry] = {
    # --- county host: who am I, units, users, rule pack --------------------------------------------
    "GET api:me-list": listing("lead_clerk"),
    "GET api:unit-list": listing(),
    "POST api:unit-list": create("admin", {"code": "T77", "name": "七七镇", "kind": "township"}),
    "GET api:unit-detail": detail("staff", obj=_unit, colleague=200, outsider_home=200),  # every county has a D01
    "GET api:user-list": listing("admin", colleague=403),
    "POST api:user-list": create("admin", {"username": "newbie", "role": "supervision_staff", "password": PASSWORD}),
    "GET api:user-detail": detail("admin", obj=_user),
    "POST api:user-role": detail("admin", obj=_user, body={"role": "office_leader"}),
    "GET api:rulepack-list": listing("lead_clerk"),
    # --- collection rounds --------------------------------------------------------------------------
    "GET api:round-list": listing(colleague=403),
    "POST api:round-list": create("staff", lambda cast: {"title": "征集", "due_date": "2099-01-01",
                                                         "leaders": ["m_leader"]}),
    "GET api:round-detail": detail("staff", obj=_round),
    "POST api:round-close": detail("staff", obj=_round, other_role="leader"),
    # --- matters ------------------------------------------------------------------------------------
    "GET api:matter-list": listing(),
    "POST api:matter-list": create("leader", _proposal),
    "GET api:matter-no-answer": listing(),
    "GET api:matter-detail": detail("lead_clerk", obj=_matter("in_progress")),
    "GET api:matter-timeline": detail("lead_clerk", obj=_matter("in_progress")),
    "GET api:matter-notice": detail("lead_clerk", obj=_matter("assigned")),
    "POST api:matter-register": detail("staff", obj=_matter("proposed")),
    "POST api:matter-approve": detail("leader", obj=_matter("registered"), body={"comment": "同意"}),
    "POST api:matter-reject": detail("leader", obj=_matter("registered"), body={"comment": "不符合范围"}),
    "POST api:matter-assign": detail("staff", obj=_matter("approved"), body={
        "lead_unit": "D01", "requirements": "按期办结", "deadline_working_days": 10}),
    "POST api:matter-sign": detail("lead_clerk", obj=_matter("assigned")),
    "POST api:matter-feedback": detail("lead_clerk", 201, obj=_matter("in_progress"),
                                       body={"kind": "written", "text": "进展顺利"}),
    "POST api:matter-report-part": detail("co_clerk", 201, obj=_part_due, body={"text": "承办部分已完成"},
                                          other_role="lead_clerk"),
    "POST api:matter-report": detail("lead_clerk", 201, obj=_matter("in_progress"), body={"text": "已完成"}),
    "POST api:matter-accept": detail("office", 201, obj=_matter("reported")),
    "POST api:matter-send-back": detail("office", 201, obj=_matter("reported"), body={"reasons": "材料不全"}),
    "POST api:matter-request-extension": detail("lead_clerk", 201, obj=_matter("in_progress"), body={
        "new_deadline": "2027-03-01", "reason": "雨季施工"}),
    "POST api:matter-request-change": detail("staff", 201, obj=_matter("in_progress"), body={
        "kind": "cancellation", "reason": "上级政策调整"}),
    "POST api:matter-attach": detail("lead_clerk", 201, obj=_matter("in_progress"),
                                     body=lambda cast: {"file": _file()}, multipart=True),
    "GET api:change-request-list": listing(),
    "GET api:change-request-detail": detail("lead_clerk", obj=_request),
    "POST api:change-request-decide": detail("leader", obj=_request, body={"approve": True, "note": "同意"}),
    # --- supervision ----------------------------------------------------------------------------------
    "GET api:step-list": listing(),
    "POST api:step-list": create("staff", _manual_step),
    "GET api:step-detail": detail("lead_clerk", obj=_due_step),
    "POST api:step-record": detail("staff", obj=_due_step, body={"evidence": PHONE, "on": "2026-11-20"},
                                   other_role="lead_clerk"),
    "POST api:step-skip": detail("staff", obj=lambda cast: _due_step(cast, "special_meeting"),
                                 body={"reason": "已当面说明"}, other_role="lead_clerk"),
    "POST api:step-reply": detail("lead_clerk", obj=_noticed_step, body={"text": "专题答复：已整改"}),
    "GET api:step-notice": detail("lead_clerk", obj=_noticed_step),
    "POST api:step-withdraw": detail("office", obj=_noticed_step, body={"reason": "系误记"}, other_role="staff"),
    "GET api:ledger-list": listing(),
    "GET api:ledger-detail": detail("lead_clerk", obj=_entry),
    "POST api:ledger-reverse": detail("office", 201, obj=_entry, body={"reason": "误记"}, other_role="staff"),
    "GET api:score-list": listing(query={"year": 2026}),
    "GET api:score-detail": detail("lead_clerk", obj=_unit, query={"year": 2026}, outsider_home=200),
    "GET api:score-annual": Entry("office", 200, colleague=403, outsider_home=None, query={"year": 2026}),
    "GET api:circular-list": listing(),
    "POST api:circular-list": create("staff", {"title": "通报", "period_start": "2026-01-01",
                                               "period_end": "2026-03-31"}),
    "GET api:circular-detail": detail("staff", obj=_circular),
    "POST api:circular-lists": detail("staff", obj=_circular, body={"praised": ["T01"]}, other_role="office"),
    "POST api:circular-publish": detail("office", obj=_circular, other_role="staff"),
    # a published circular is every county user's to read (and print)
    "GET api:circular-document": detail("staff", obj=_published_circular, colleague=200),
    "GET api:inspection-round-list": listing(),
    "GET api:inspection-round-detail": detail("staff", obj=lambda cast: _inspection_item(cast).round),
    "GET api:inspection-round-report": detail("staff", obj=lambda cast: _inspection_item(cast).round),
    "GET api:inspection-item-list": listing(),
    "GET api:inspection-item-detail": detail("lead_clerk", obj=_inspection_item),
    "POST api:inspection-item-record": detail("staff", obj=_inspection_item, body={"result": "on_track"},
                                              other_role="office"),
    # --- documents and the weekly report ----------------------------------------------------------------
    "GET api:document-list": listing(),
    "GET api:document-detail": detail("lead_clerk", obj=_document),
    "GET api:document-download": detail("lead_clerk", obj=_document),
    "GET api:weekly-report-list": listing(),
    "POST api:weekly-report-draft": Entry("staff", 201, None, None, colleague=403, outsider_home=None,
                                          other_role="office"),
    "GET api:weekly-report-detail": detail("staff", obj=_weekly_draft),
    "POST api:weekly-report-edit": detail("staff", obj=_weekly_draft, body={"summary": "本周情况"},
                                          other_role="office"),
    "POST api:weekly-report-submit": detail("staff", obj=_weekly_draft, other_role="office"),
    "POST api:weekly-report-return-to-staff": detail("office", obj=_weekly_submitted, body={"reason": "请补充超期事项"},
                                                     other_role="staff"),
    "POST api:weekly-report-issue": detail("office", obj=_weekly_submitted, other_role="staff"),
    # --- Excel imports (multipart): staff import matters, the county admin units ----------------------------
    "POST api:import-preview": Entry("staff", 200, None, _matters_file, colleague=403, outsider_home=None,
                                     multipart=True, other_role="admin"),
    "POST api:import-list": Entry("staff", 201, None, _matters_file, colleague=403, outsider_home=None,
                                  multipart=True, other_role="admin"),
    # --- a person's own inbox and preferences ---------------------------------------------------------
    "GET api:notification-list": listing("lead_clerk"),
    "GET api:notification-detail": detail("lead_clerk", obj=_notification),
    "GET api:notification-unread-count": listing("lead_clerk"),
    "POST api:notification-mark-read": Entry("lead_clerk", 200, None, {}, colleague=200, outsider_home=None),
    "GET api:notification-preference-list": listing("lead_clerk"),
    "POST api:notification-preference-list": Entry("lead_clerk", 200, None, {
        "event": "light.yellow", "channel": "email", "enabled": False}, colleague=200, outsider_home=None),
    # --- the schema and its pages: public documentation ----------------------------------------------
    "GET api:schema": Entry("staff", 200, colleague=200, outsider_home=None),
    "GET api:swagger": Entry("staff", 200, colleague=200, outsider_home=None),
    "GET api:redoc": Entry("staff", 200, colleague=200, outsider_home=None),
}

# Public host (the base domain): platform operator as owner, a city user of another city as colleague.
PUBLIC_MATRIX: dict[str, Entry] = {
    "GET public_api:me-list": listing("operator"),
    "GET public_api:city-list": listing("operator"),
    "GET public_api:city-detail": detail("operator", obj="testcity"),
    "GET public_api:county-list": listing("operator"),
    "GET public_api:county-detail": detail("operator", obj="alpha"),
    "GET public_api:schema": Entry("operator", 200, colleague=200, outsider_home=None),
    "GET public_api:swagger": Entry("operator", 200, colleague=200, outsider_home=None),
    "GET public_api:redoc": Entry("operator", 200, colleague=200, outsider_home=None),
    # City comparison: a city user of another city gets 404 for testcity, as for a missing city.
    "GET public_api:comparison-list": listing("operator", colleague=404, query={"city": "testcity"}),
    "GET public_api:comparison-trends": listing("operator", colleague=404, query={"city": "testcity"}),
    "GET public_api:comparison-export": listing("operator", colleague=404, query={"city": "testcity"}),
    "GET public_api:comparison-definitions": listing("operator"),
    "GET public_api:comparison-reference-pack": detail("operator", obj="testcity"),
    "POST public_api:comparison-reference-pack": detail("operator", 400, obj="testcity"),  # no body: 400
}

ANONYMOUS_OK = {"api:schema", "api:swagger", "api:redoc", "public_api:schema", "public_api:swagger",
                "public_api:redoc"}


# --- routes from the URL configuration ----------------------------------------------------------------
def routes(urlconf: str, namespace: str) -> dict[str, str]:
    """{"METHOD namespace:name": path pattern} for every API route and method."""
    found: dict[str, str] = {}

    def walk(patterns, prefix, ns):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern), p.namespace or ns)
            elif isinstance(p, URLPattern) and ns == namespace and "<format>" not in str(p.pattern):
                callback = p.callback
                actions = getattr(callback, "actions", None)
                if actions:
                    methods = [m.upper() for m in actions]
                else:
                    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
                    methods = [m.upper() for m in getattr(view_class, "http_method_names", ["get"])
                               if hasattr(view_class, m) and m in ("get", "post", "put", "patch", "delete")]
                for method in methods:
                    found[f"{method} {ns}:{p.name}"] = prefix + str(p.pattern)

    walk(get_resolver(urlconf).url_patterns, "", None)
    return found


COUNTY_ROUTES = routes("duban.urls", "api")
PUBLIC_ROUTES = routes("duban.urls_public", "public_api")
COVERED: list[tuple[str, str, int]] = []


def test_every_route_has_an_entry():
    missing = sorted(set(COUNTY_ROUTES) - set(MATRIX)) + sorted(set(PUBLIC_ROUTES) - set(PUBLIC_MATRIX))
    stale = sorted(set(MATRIX) - set(COUNTY_ROUTES)) + sorted(set(PUBLIC_MATRIX) - set(PUBLIC_ROUTES))
    assert not missing, f"routes without an isolation-matrix entry: {missing}"
    assert not stale, f"matrix entries for routes that no longer exist: {stale}"
    assert len(COUNTY_ROUTES) >= 50


def _path(pattern: str, obj) -> str:
    import re

    path = "/" + pattern.replace("^", "").replace("\\Z", "").replace("$", "")
    path = re.sub(r"\(\?P<format>[^)]*\)", "", path)
    if obj is None or isinstance(obj, str):
        key = obj
    else:
        key = obj.code if "(?P<code>" in pattern else obj.pk
    path = re.sub(r"\(\?P<\w+>[^)]*\)", str(key), path)
    return path.replace("\\.", ".")


def _call(client: Client, method: str, path: str, host: str, token: str | None, entry: Entry, body):
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    if method == "GET":
        return client.get(path, entry.query, **headers)
    if entry.multipart:
        return client.post(path, body or {}, **headers)
    return client.post(path, body or {}, content_type="application/json", **headers)


@pytest.fixture
def cast(world):
    with tenant_context(world.alpha):
        yield make_cast()


def _tokens(world, cast) -> dict[str, str]:
    from duban.accounts.models import User

    with tenant_context(world.alpha):
        people = {"staff": cast.staff, "office": cast.office, "leader": cast.leader, "lead_clerk": cast.lead_clerk,
                  "co_clerk": cast.co_clerk, "admin": User.objects.get(username="admin"), "colleague": cast.other_clerk}
        return {name: do_issue_token(user, actor="tests") for name, user in people.items()}


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_county_route(key, world, cast, request):
    entry = MATRIX[key]
    method, _ = key.split(" ", 1)
    tokens = _tokens(world, cast)
    with tenant_context(world.alpha):
        obj = entry.obj(cast) if callable(entry.obj) else None
        body = entry.body(cast) if callable(entry.body) else entry.body
    path = _path(COUNTY_ROUTES[key], obj)
    client = Client()
    host = world.owner.host
    anonymous_status = 200 if key.split(" ", 1)[1] in ANONYMOUS_OK else 401
    got = {
        # Everyone but the owner first: their attempts must change nothing.
        "anonymous": _call(client, method, path, host, None, entry, body).status_code,
        "outsider_here": _call(client, method, path, host, world.outsider.token, entry, body).status_code,
        "colleague": _call(client, method, path, host, tokens["colleague"], entry, body).status_code,
    }
    # A token that is not this host's is refused even where anonymous readers are welcome.
    expected = {"anonymous": anonymous_status, "outsider_here": 401, "colleague": entry.colleague}
    if entry.outsider_home is not None:
        got["outsider_home"] = _call(client, method, path, world.outsider.host, world.outsider.token, entry,
                                     body).status_code
        expected["outsider_home"] = entry.outsider_home
    if entry.other_role:
        got["other_role"] = _call(client, method, path, host, tokens[entry.other_role], entry, body).status_code
        expected["other_role"] = 403
    if callable(entry.body):  # a fresh body (an upload is consumed by the first request)
        with tenant_context(world.alpha):
            body = entry.body(cast)
    response = _call(client, method, path, host, tokens[entry.owner], entry, body)
    got["owner"] = response.status_code
    expected["owner"] = entry.status
    assert got == expected, f"{key} {path}: {response.content.decode()[:500]}"
    for persona, status in got.items():
        COVERED.append((key, persona, status))


@pytest.mark.parametrize("key", sorted(PUBLIC_MATRIX))
def test_public_route(key, world):
    from duban.accounts.actions import do_create_user
    from tenants import provisioning

    entry = PUBLIC_MATRIX[key]
    method, _ = key.split(" ", 1)
    operator = do_create_user("operator", actor="tests", role="platform_operator", password=PASSWORD)
    provisioning.create_city("farcity", "远方市", actor="tests")
    stranger = provisioning.create_city_user("farcity", "stranger", actor="tests", password=PASSWORD)
    tokens = {"operator": do_issue_token(operator, actor="tests"), "colleague": do_issue_token(stranger, actor="tests")}
    path = _path(PUBLIC_ROUTES[key], entry.obj)
    client = Client()
    anonymous_status = 200 if key.split(" ", 1)[1] in ANONYMOUS_OK else 401
    got = {
        "anonymous": _call(client, method, path, "localhost", None, entry, None).status_code,
        # A county user's token on the public host.
        "outsider_here": _call(client, method, path, "localhost", world.outsider.token, entry, None).status_code,
        "colleague": _call(client, method, path, "localhost", tokens["colleague"], entry, None).status_code,
        "owner": _call(client, method, path, "localhost", tokens["operator"], entry, None).status_code,
    }
    expected = {"anonymous": anonymous_status, "outsider_here": 401, "colleague": entry.colleague,
                "owner": entry.status}
    assert got == expected, key
    for persona, status in got.items():
        COVERED.append((key, persona, status))


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    if not COVERED:
        return
    keys = sorted({k for k, _, _ in COVERED})
    lines = [f"isolation matrix: {len(keys)} routes × {len(PERSONAS)} personas, {len(COVERED)} checks"]
    by_key: dict[str, dict[str, int]] = {}
    for key, persona, status in COVERED:
        by_key.setdefault(key, {})[persona] = status
    lines.append(f"{'route':<42}" + "".join(f"{p:>15}" for p in PERSONAS))
    for key in keys:
        lines.append(f"{key:<42}" + "".join(f"{by_key[key].get(p, '-')!s:>15}" for p in PERSONAS))
    LINES.extend(lines)
