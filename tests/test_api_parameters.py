"""Issue 24 point 1: every parameter the schema documents works on every route.

``GET /api/v1/documents/{id}/download/?format=pdf`` answered 404: DRF read ``?format=`` as its
own choice of renderer (``URL_FORMAT_OVERRIDE``) and, finding no renderer called "pdf", answered
404 before the view ran. The class of problem is a documented parameter that the framework
swallows, so this walks them all:

1. **The walker** (deterministic): every GET route of the isolation matrix
   (``tests/test_api_isolation.py``), as the persona the route is for, on a county seeded with
   records of every kind (``test_api_schema._seed``). For each query parameter the schema
   documents for the operation, each value it allows (every value of an enum, a value taken from
   the route's own rows for a filter, a real cursor from a ``next`` link, the bounds of
   ``page_size``, a date, a boolean) is sent alone. A documented parameter must never answer 404
   or 5xx; a value the walker knows to be valid (from the rows, a cursor, page 1, the bounds)
   must answer 200 — and a filter by a row's own value must keep that row; where the parameter
   is refused, the 400 names it. Every enum must have one value that answers 200.
2. **Schemathesis with positive data**: the same GET operations, with the values schemathesis
   draws from the schema (several parameters at once), on the real objects' paths: no 404, no
   5xx, and a 400 names a parameter that was sent.

Header parameters (``Idempotency-Key``) are walked by ``tests/test_idempotency.py``; path
parameters by the isolation matrix and ``test_api_schema``'s awkward ids.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import api_key
from django.test import Client
from django_tenants.utils import tenant_context
from summary import LINES
from test_api_isolation import COUNTY_ROUTES, MATRIX
from test_api_schema import InProcessWSGI, _deref, _schema, _seed

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-21")]

# The MATRIX's owners (cast attributes) by user name in the seeded county.
OWNERS = {"staff": "staff", "office": "m_office", "leader": "m_leader", "lead_clerk": "clerk",
          "co_clerk": "clerk1", "admin": "admin"}


def schema_path(pattern: str) -> str:
    path = pattern.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "{%s}" % ("id" if m[1] == "pk" else m[1]), path)


def get_routes() -> dict[str, str]:
    """{schema path: owner} of every GET route in the isolation matrix."""
    return {schema_path(COUNTY_ROUTES[key]): MATRIX[key].owner for key in MATRIX
            if key.startswith("GET api:") and key.split(" ", 1)[1] not in ("api:schema", "api:swagger", "api:redoc")}


def _tokens(world) -> dict[str, str]:
    from duban.accounts.models import User

    with tenant_context(world.alpha):
        return {owner: api_key(User.objects.get(username=username)) for owner, username in OWNERS.items()}


def _seed_more(world) -> None:
    """What _seed leaves out, so that every list has two rows or more: two weekly reports, two
    collection rounds, two inspection rounds (the third quarter's too), issued documents (two
    assignment notices and a written step's notice)."""
    from matter_helpers import Cast, to_state

    from duban.accounts.models import User
    from duban.core.clock import as_of
    from duban.matters import actions
    from duban.matters.documents import assignment_notice_document
    from duban.matters.models import Matter
    from duban.reports.weekly import draft_weekly_report
    from duban.supervision.actions import do_record_manual_step
    from duban.supervision.documents import supervision_notice_document
    from duban.supervision.inspection import open_inspection_if_due

    with tenant_context(world.alpha):
        staff, leader = User.objects.get(username="staff"), User.objects.get(username="m_leader")
        draft_weekly_report(date(2026, 11, 21), actor="tests")
        draft_weekly_report(date(2026, 11, 28), actor="tests")
        actions.do_open_round(actor=staff, title="季度征集", due_date=date(2099, 3, 1), leaders=[leader])
        with as_of(date(2026, 9, 25)):
            open_inspection_if_due()
        for matter in Matter.objects.filter(assigned_on__isnull=False).order_by("id")[:2]:
            assignment_notice_document(matter, actor=staff)
        people = {u.username: u for u in User.objects.all()}
        cast = Cast(leader=leader, office=people["m_office"], staff=staff, lead_clerk=people["clerk"],
                    co_clerk=people["clerk1"], other_clerk=people["m_other"])
        with as_of(date(2026, 9, 1)):
            overdue = to_state(cast, "in_progress", deadline_working_days=10)
        do_record_manual_step(overdue.pk, actor=staff, tier="phone", on=date(2026, 11, 20), evidence={
            "contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"})
        step = do_record_manual_step(overdue.pk, actor=staff, tier="written_notice", on=date(2026, 11, 21),
                                     evidence={"requirements": "三日内专题答复", "reply_due": "2099-12-05"})
        supervision_notice_document(step, actor=staff)


class Caller:
    def __init__(self, world, tokens):
        self.client = Client()
        self.host = world.owner.host
        self.tokens = tokens

    def get(self, owner: str, path: str, query: dict | None = None):
        return self.client.get(path, query or {}, HTTP_HOST=self.host, HTTP_AUTHORIZATION=f"Token {self.tokens[owner]}")


def _rows(response) -> list[dict]:
    if response.status_code != 200 or not response["Content-Type"].startswith("application/json"):
        return []
    data = response.json()
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return data["results"]
    return data if isinstance(data, list) else []


def _collection(path: str) -> str:
    return "/".join(path.split("/")[:4]) + "/"  # /api/v1/<collection>/


def _concrete(path: str, caller: Caller, owner: str) -> str | None:
    """``path`` with its {id} (or {code}) taken from the first row of the collection's list, as the
    owner sees it, for which the route answers 200 without parameters (a step's notice needs a
    step that sent one); None when there is none."""
    if "{" not in path:
        return path
    name = re.search(r"\{(\w+)\}", path)[1]
    for row in _rows(caller.get(owner, _collection(path), {"page_size": 200})):
        key = row.get(name) if name != "code" else (row.get("code") or row.get("unit"))
        if key in (None, ""):
            continue
        concrete = path.replace(f"{{{name}}}", str(key))
        if caller.get(owner, concrete).status_code == 200:
            return concrete
    return None


def _cursor(caller: Caller, owner: str, path: str) -> str | None:
    """A real cursor: the ``next`` link of a first page of one row."""
    response = caller.get(owner, path, {"page_size": 1})
    link = response.json().get("next") if response.status_code == 200 else None
    return parse_qs(urlsplit(link).query).get("cursor", [None])[0] if link else None


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def values_for(spec: dict, param: dict, rows: list[dict], cursor: str | None) -> list[tuple[str, str]]:
    """(value, kind) for a documented query parameter: kind "enum" (one of the allowed values),
    "valid" (known to be valid: 200 expected), "row" (a row's own value: 200, and the row kept)
    or "any" (a value of the documented type: 200 or a 400 naming the parameter)."""
    name = param["name"]
    schema = _deref(spec, param.get("schema", {}))
    items = _deref(spec, schema.get("items", {})) if schema.get("type") == "array" else {}
    enum = schema.get("enum") or items.get("enum")
    if enum:
        return [(_text(value), "enum") for value in enum if value is not None]
    if name == "cursor":
        return [(cursor, "valid")] if cursor else []
    if name == "page":
        return [("1", "valid")]
    if name == "page_size":
        return [("1", "valid"), (str(schema.get("maximum", 200)), "valid")]
    first = rows[0] if rows else {}
    if name in first and first[name] not in (None, "", [], {}) and not isinstance(first[name], (list, dict)):
        return [(_text(first[name]), "row")]
    kind = schema.get("type")
    if kind == "boolean":
        return [("true", "valid"), ("false", "valid")]
    if schema.get("format") == "date":
        return [("2026-12-01", "valid")]
    if name == "year":
        return [("2026", "valid")]
    if kind in ("integer", "number"):
        return [(str(schema.get("minimum", 1)), "any")]
    return [("x", "any")]


def _query_params(spec: dict, path: str) -> list[dict]:
    item = spec["paths"][path]
    operation = item["get"]
    params = [_deref(spec, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]
    return [p for p in params if p["in"] == "query"]


def _ids(rows: list[dict]) -> list:
    return [row.get("id") for row in rows]


def test_every_documented_parameter_of_every_route_works(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DUBAN_API_THROTTLE = {"user": None, "anon": None}
    _seed(world)
    _seed_more(world)
    tokens = _tokens(world)
    caller = Caller(world, tokens)
    spec = _schema(world.owner.host, world.owner.token)
    problems: list[str] = []
    walked = requests = 0
    for path, owner in sorted(get_routes().items()):
        assert path in spec["paths"] and "get" in spec["paths"][path], f"{path} is not in the schema"
        params = _query_params(spec, path)
        concrete = _concrete(path, caller, owner)
        if concrete is None:
            problems.append(f"GET {path}: no row to walk it with (the seed must make one)")
            continue
        plain = caller.get(owner, concrete)
        requests += 1
        if plain.status_code != 200:
            problems.append(f"GET {concrete} as {owner}: {plain.status_code} without parameters")
            continue
        rows = _rows(plain)
        names = {p["name"] for p in params}
        cursor = _cursor(caller, owner, concrete) if "cursor" in names else None
        for param in params:
            name = param["name"]
            values = values_for(spec, param, rows, cursor)
            if not values:
                problems.append(f"GET {concrete} ?{name}: no value to walk it with (two rows needed for a cursor)")
                continue
            walked += 1
            answered_ok = False
            for value, kind in values:
                response = caller.get(owner, concrete, {name: value})
                requests += 1
                where = f"GET {concrete}?{urlencode({name: value})} as {owner} ({kind})"
                status = response.status_code
                if status == 404 or status >= 500:
                    problems.append(f"{where}: {status} {response.content[:200]!r}")
                    continue
                if status == 400:
                    fields = response.json().get("error", {}).get("fields", {})
                    if name not in fields:
                        problems.append(f"{where}: 400 not naming {name}: {fields}")
                    elif kind in ("valid", "row"):
                        problems.append(f"{where}: refused a valid value: {fields}")
                    continue
                if status != 200:
                    problems.append(f"{where}: {status}")
                    continue
                answered_ok = True
                if kind == "row" and rows and "id" in rows[0]:
                    kept = _ids(_rows(response))
                    if rows[0]["id"] not in kept:
                        problems.append(f"{where}: the row it was taken from ({rows[0]['id']}) is not kept: {kept}")
            if not answered_ok:
                problems.append(f"GET {concrete} ?{name}: no value answered 200 ({values})")
    summary = (f"parameter walk: {len(get_routes())} GET routes, {walked} documented query parameters, "
               f"{requests} requests, {len(problems)} problems")
    LINES.append(summary)
    print("\n" + summary + "".join(f"\n  {p}" for p in problems))
    assert walked >= 40
    assert not problems, "\n".join(problems)


def test_download_answers_each_documented_format(world):
    """The issue's own example: ?format=pdf and ?format=docx download the document (not 404),
    ?format=xlsx of a notice is a 400 naming format (only the annual table has an Excel form)."""
    from matter_helpers import make_cast, to_state

    from duban.matters.documents import assignment_notice_document

    with tenant_context(world.alpha):
        cast = make_cast()
        document = assignment_notice_document(to_state(cast, "assigned"), actor=cast.staff)
    caller = Caller(world, {"staff": world.owner.token})
    path = f"/api/v1/documents/{document.pk}/download/"
    pdf = caller.get("staff", path, {"format": "pdf"})
    assert pdf.status_code == 200, pdf.content[:300]
    assert pdf["Content-Type"] == "application/pdf" and b"".join(pdf.streaming_content).startswith(b"%PDF")
    docx = caller.get("staff", path, {"format": "docx"})
    assert docx.status_code == 200, docx.content[:300]
    assert docx["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert b"".join(docx.streaming_content).startswith(b"PK")
    xlsx = caller.get("staff", path, {"format": "xlsx"})
    assert xlsx.status_code == 400 and "format" in xlsx.json()["error"]["fields"], xlsx.content[:300]
    unknown = caller.get("staff", path, {"format": "odt"})
    assert unknown.status_code == 400 and "format" in unknown.json()["error"]["fields"], unknown.content[:300]


def test_the_schema_still_answers_json_and_yaml(world):
    """DRF's ``?format=`` no longer picks renderers API-wide; the schema view keeps its own."""
    client = Client()
    headers = {"HTTP_HOST": world.owner.host, "HTTP_AUTHORIZATION": f"Token {world.owner.token}"}
    as_json = client.get("/api/v1/schema/", {"format": "json"}, **headers)
    assert as_json.status_code == 200 and "json" in as_json["Content-Type"]
    as_yaml = client.get("/api/v1/schema/", {"format": "yaml"}, **headers)
    assert as_yaml.status_code == 200 and "openapi" in as_yaml["Content-Type"] and as_yaml.content.startswith(b"openapi:")
    public = client.get("/api/v1/schema/", {"format": "json"}, HTTP_HOST="localhost")
    assert public.status_code == 200 and "json" in public["Content-Type"]


def test_schemathesis_positive_values_of_every_query_parameter(world, settings, tmp_path):
    """Schemathesis draws positive values for each GET operation's documented parameters (several
    at once), sent on the real objects' paths as the route's own persona: never 404 or 5xx, and a
    400 names one of the parameters sent."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hypothesis_settings
    from schemathesis import GenerationMode

    settings.MEDIA_ROOT = tmp_path
    settings.DUBAN_API_THROTTLE = {"user": None, "anon": None}
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    _seed(world)
    _seed_more(world)
    tokens = _tokens(world)
    caller = Caller(world, tokens)
    routes = get_routes()
    host = world.owner.host
    problems: list[str] = []
    sent = 0
    # The real paths first: Django's test client reconnects close_old_connections, which must stay
    # off while InProcessWSGI answers inside the test's transaction.
    concrete_paths = {path: _concrete(path, caller, owner) for path, owner in routes.items()}
    with InProcessWSGI() as app:
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app, headers={"Host": host})
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.method.upper() != "GET" or operation.path not in routes or not len(operation.query):
                continue
            owner = routes[operation.path]
            concrete = concrete_paths[operation.path]
            if concrete is None:
                problems.append(f"GET {operation.path}: no row to walk it with")
                continue
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(operation.path))
            real = re.fullmatch(pattern, concrete).groupdict()
            operations += 1
            headers = {"Authorization": f"Token {tokens[owner]}"}

            @hypothesis_settings(max_examples=8, derandomize=True, database=None, deadline=None,
                                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
            def one(case):
                nonlocal sent
                if case.path_parameters:
                    case.path_parameters.update(real)  # noqa: B023 — `one` runs at once, in this iteration
                response = case.call(base_url=f"http://{host}", headers=headers)  # noqa: B023
                sent += 1
                query = dict(case.query or {})
                where = f"GET {case.formatted_path}?{urlencode(query, doseq=True)} as {owner}"  # noqa: B023
                if response.status_code == 404 or response.status_code >= 500:
                    problems.append(f"{where}: {response.status_code} {response.content[:200]!r}"
                                    + (f"\n    {app.last_traceback}" if app.last_traceback else ""))
                elif response.status_code == 400:
                    fields = (response.json().get("error") or {}).get("fields") or {}
                    if not set(fields) & set(query):
                        problems.append(f"{where}: 400 naming none of the parameters sent: {fields}")

            one()
    summary = f"schemathesis positive parameters: {operations} GET operations, {sent} requests, {len(problems)} problems"
    LINES.append(summary)
    print("\n" + summary + "".join(f"\n  {p}" for p in sorted(set(problems))))
    assert operations >= 15 and sent >= operations * 4
    assert not problems, "\n".join(sorted(set(problems)))
