"""The OpenAPI schema of the API: it validates as OpenAPI 3, lists every route the URLconf serves
(with every method), its Swagger UI and ReDoc pages render from our own static files, and a
schemathesis fuzz of every county operation — authenticated as several county personas, in
process over WSGI on the county's host — gets no 5xx and only responses the schema describes.

What the fuzz asserts, and why not more:

- ``not_a_server_error``: no 5xx, whatever the input (the key requirement).
- ``response_schema_conformance`` and ``content_type_conformance``: a response whose status the
  schema documents (the operation's 2xx) has the documented body and media type.
- Every 4xx carries the documented error body ``{"error": {"code", "message", "fields"?}}``
  (our own check, ``_error_envelope_problem``; the schema's description documents it).
- ``status_code_conformance`` is *not* run: the schema documents each operation's success only,
  while 400/401/403/404/409 are documented once, for the whole API, in its description (and
  checked above). With the fuzz's random ids and bodies nearly every answer is such a 4xx, so
  that check would report each operation as failing without telling us anything.

The fuzz runs as supervision staff (the owner), a unit clerk (the colleague) and the county
admin, on a county seeded with records of every kind (``_seed``) so that half of the detail
requests hit real ids; the rest get schemathesis's random ids, for which 404 is the right answer.
Each request runs in a savepoint of the test's transaction (rolled back after a 5xx), so one
failing request cannot poison the next; every 5xx is recorded with its traceback, and every
finding is printed (``-s``) with the request that triggered it.

Then, deterministically, what the fuzz found only now and then: awkward ids, numbers and
strings in every operation's path and query (test 4), and user names outside the documented
pattern.

The summaries (operations, requests, server errors) are printed at the end of the run.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django_tenants.utils import tenant_context
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError  # noqa: F401
from summary import LINES

from duban.supervision.actions import do_draft_circular, do_publish_circular, do_reverse_entry, do_set_circular_lists

# The seeded records are made as of days in autumn 2026: the tests run as of a day after them.
pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-21")]

API_PREFIX = "api/v1/"
DOC_ROUTES = {"schema/", "docs/", "redoc/"}
HTTP_METHODS = ("get", "put", "patch", "post", "delete")
REPO = Path(__file__).resolve().parent.parent


# --- 1. the schema lists every operation ---------------------------------------------------------
def _routes(urlconf: str) -> dict[str, set[str]]:
    """{openapi path: {methods}} of every API route ``urlconf`` serves under /api/v1/ (but the
    schema and its two doc pages), read from the URL resolver and each view's method map."""
    from django.urls import URLResolver, get_resolver

    routes: dict[str, set[str]] = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route.rstrip("$"))
                continue
            route = route.rstrip("$").replace("\\.", ".")
            if not route.startswith(API_PREFIX) or "(?P<format>" in route or route[len(API_PREFIX):] in DOC_ROUTES:
                continue
            path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "{%s}" % ("id" if m[1] == "pk" else m[1]), route)
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)  # path() converters, should one appear
            callback = pattern.callback
            actions = getattr(callback, "actions", None)
            if actions:  # a viewset: method -> action
                methods = set(actions)
            else:
                view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
                assert view is not None, f"{path}: a plain function view in the API"
                methods = {m for m in view.http_method_names if hasattr(view, m)}
            routes.setdefault(path, set()).update(m for m in methods if m in HTTP_METHODS)

    walk(get_resolver(urlconf).url_patterns, "")
    return routes


def _schema(host: str, token: str | None = None) -> dict:
    headers = {"HTTP_HOST": host}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    response = Client().get("/api/v1/schema/", {"format": "json"}, **headers)
    assert response.status_code == 200, response.content[:500]
    assert "json" in response["Content-Type"], response["Content-Type"]
    return json.loads(response.content)


def _check_schema_covers(spec: dict, urlconf: str, label: str) -> int:
    """Every route ``urlconf`` serves is in ``spec`` with each of its methods (and nothing else
    is), each operation has a summary and a response; then ``spec`` validates as OpenAPI 3."""
    from openapi_spec_validator import validate

    assert spec["openapi"].startswith("3."), spec["openapi"]
    documented: dict[str, set[str]] = {path: {m for m in item if m in HTTP_METHODS}
                                       for path, item in spec["paths"].items()}
    served = _routes(urlconf)
    assert served, f"no API route found in {urlconf}"
    missing = {f"{m.upper()} {p}" for p, methods in served.items() for m in methods
               if m not in documented.get(p, set())}
    assert not missing, f"{label}: served but not in the schema: {sorted(missing)}"
    extra = {f"{m.upper()} {p}" for p, methods in documented.items() for m in methods
             if m not in served.get(p, set())}
    assert not extra, f"{label}: in the schema but not served: {sorted(extra)}"

    problems = []
    count = 0
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            count += 1
            if not (operation.get("summary") or "").strip():
                problems.append(f"{method.upper()} {path}: no summary")
            if not operation.get("responses"):
                problems.append(f"{method.upper()} {path}: no response")
    assert not problems, f"{label}: " + "; ".join(problems)
    LINES.append(f"{label} API schema: {count} operations (every route of {urlconf}, with a summary and a response)")

    validate(spec)  # raises OpenAPIValidationError on an invalid document
    LINES.append(f"{label} API schema: {count} operations, OpenAPI {spec['openapi']} valid")
    return count


def test_county_schema_is_valid_openapi_and_lists_every_operation(world):
    spec = _schema(world.owner.host, world.owner.token)
    assert len(spec["paths"]) >= 30  # api/urls.py: 13 viewsets with their actions
    _check_schema_covers(spec, "duban.urls", "county")


def test_public_schema_is_valid_openapi_and_lists_every_operation(world):
    public = _schema("localhost")
    _check_schema_covers(public, "duban.urls_public", "public")
    # Only the public host's own operations: nothing of a county's API.
    county_paths = _schema(world.owner.host, world.owner.token)["paths"]
    assert set(public["paths"]) & set(county_paths) == {"/api/v1/me/"}


# --- 2. the documentation pages ----------------------------------------------------------------
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _doc_page(world, page: str) -> str:
    response = Client().get(f"/api/v1/{page}/", HTTP_HOST=world.owner.host,
                            HTTP_AUTHORIZATION=f"Token {world.owner.token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_swagger_and_redoc_pages_render(world, page):
    """The pages render, and their scripts and styles are our own static files
    (drf-spectacular-sidecar, served by WhiteNoise), not a CDN's."""
    from django.conf import settings
    from django.contrib.staticfiles import finders

    html = _doc_page(world, page)
    for cdn in ("cdn.jsdelivr", "unpkg", "cdnjs"):
        assert cdn not in html, f"{page} loads assets from {cdn}"
    assets = [url for url in ASSET.findall(html) if url.startswith(settings.STATIC_URL)]
    assert any("drf_spectacular_sidecar" in url for url in assets), assets
    for url in assets:
        name = url[len(settings.STATIC_URL):].split("?")[0]
        assert finders.find(name), f"{page}: {url} is not one of our static files"
    assert "/api/v1/schema/" in html  # the page reads this county's schema


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_doc_pages_load_nothing_from_another_host(world, page):
    html = _doc_page(world, page)
    foreign = [url for url in ASSET.findall(html) if not url.startswith(("/", "#", "data:"))]
    assert not foreign, f"{page} loads from other hosts: {foreign}"


# --- 3. fuzzing every county operation ---------------------------------------------------------
MAX_EXAMPLES = 6  # per operation, per generation mode (positive and negative), per persona
KEEP_BODY = 600


@dataclass
class Finding:
    persona: str
    operation: str
    kind: str
    status: int
    request: str
    response: str
    detail: str = ""

    def key(self) -> tuple:
        """One finding per operation and cause: the exception, or where the response strays from
        the schema."""
        lines = self.detail.strip().splitlines()
        where = [line for line in lines if line.strip().startswith("Schema at")]
        cause = where[0].strip() if where else (lines[-1][:200] if lines else "")
        return (self.operation, self.kind, self.status // 100 if self.kind.startswith("server") else self.status, cause)

    def __str__(self) -> str:
        out = [f"[{self.persona}] {self.operation}: {self.kind} (HTTP {self.status})",
               f"  request:  {self.request}", f"  response: {self.response}"]
        if self.detail:
            out.append("  " + self.detail.strip().replace("\n", "\n  "))
        return "\n".join(out)


@dataclass
class Run:
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    statuses: dict = field(default_factory=dict)
    findings: dict = field(default_factory=dict)  # key -> Finding (first seen)
    counts: dict = field(default_factory=dict)     # key -> occurrences
    skipped: list = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        key = finding.key()
        self.findings.setdefault(key, finding)
        self.counts[key] = self.counts.get(key, 0) + 1


class InProcessWSGI:
    """Django's WSGI handler for in-process calls that share the test's transaction.

    Django closes "old" connections at the start and end of each request, which would end the
    test's transaction: those receivers are off while this app is in use (as in Django's own
    test client). Each request runs in a savepoint, rolled back after a 5xx; the traceback of an
    exception that became a 500 is kept for the report."""

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()
        self.last_traceback = ""
        self.poisoned = ""

    def __enter__(self):
        from django.core.signals import got_request_exception, request_finished, request_started
        from django.db import close_old_connections

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        got_request_exception.connect(self._on_exception)
        return self

    def __exit__(self, *exc):
        from django.core.signals import got_request_exception, request_finished, request_started
        from django.db import close_old_connections

        got_request_exception.disconnect(self._on_exception)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    def _on_exception(self, sender, request=None, **kwargs):
        """Our frames (api/, platform/, …), the innermost two, and the exception."""
        exc = sys.exc_info()[1]
        frames = traceback.extract_tb(exc.__traceback__)

        def ours(frame) -> bool:
            return frame.filename.startswith(str(REPO)) and "/.venv/" not in frame.filename

        lines = [f"{Path(f.filename).relative_to(REPO) if ours(f) else Path(f.filename).name}:{f.lineno} "
                 f"in {f.name}: {f.line}"
                 for i, f in enumerate(frames) if ours(f) or i >= len(frames) - 2]
        self.last_traceback = "\n".join([*lines, f"{type(exc).__name__}: {exc}"])

    def __call__(self, environ, start_response):
        self.last_traceback = ""
        self.poisoned = ""
        status = {}

        def remember(code, headers, exc_info=None):
            status["code"] = int(code.split()[0])
            return start_response(code, headers, exc_info)

        sid = transaction.savepoint()
        try:
            result = self.handler(environ, remember)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except BaseException:
            transaction.savepoint_rollback(sid)
            raise
        if status.get("code", 500) >= 500:
            transaction.savepoint_rollback(sid)
        else:
            try:
                transaction.savepoint_commit(sid)
            except DatabaseError as exc:  # the view swallowed a database error and answered anyway
                transaction.savepoint_rollback(sid)
                self.poisoned = f"{type(exc).__name__}: {exc}"
        return [body]


def _describe_request(response) -> str:
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = f"{request.method} {request.url.replace('http://', '', 1)}"
    content_type = request.headers.get("Content-Type")
    if body:
        text += f"  [{content_type}] {str(body)[:KEEP_BODY]}"
    return text


def _describe_response(response) -> str:
    content_type = (response.headers.get("content-type") or [""])[0]
    body = response.content.decode("utf-8", "replace") if response.content else ""
    return f"{response.status_code} [{content_type}] {body[:KEEP_BODY]}"


def _error_envelope_problem(response) -> str | None:
    """The documented error body: {"error": {"code": str, "message": str, "fields"?: {str: [str]}}}."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return "the error body is not JSON"
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict) or set(data) != {"error"}:
        return "the body is not {\"error\": {...}}"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return "error.code / error.message missing or not strings"
    fields = error.get("fields")
    if fields is not None and not (isinstance(fields, dict) and all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(m, str) for m in v)
            for k, v in fields.items())):
        return "error.fields is not {name: [messages]}"
    return None


def _seed(world) -> dict[str, list]:
    """Records of every kind in county alpha, so that detail endpoints have real ids to hit and
    responses carry every shape (null and set): matters in each state (closed and redo too) with
    feedback, results, reviews and an attachment; overdue ones with steps (due and recorded) and
    ledger entries (one reversed); change requests (pending and decided); a collection round;
    circulars (draft and published) and a quarterly inspection round (one item recorded)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from matter_helpers import circular_record, make_cast, to_state

    from duban.accounts.models import User
    from duban.core.clock import as_of
    from duban.matters import actions
    from duban.matters.actions import do_attach_file
    from duban.matters.models import ChangeRequest, CollectionRound, Matter
    from duban.supervision import steps as step_actions
    from duban.supervision.actions import do_record_inspection, do_record_step
    from duban.supervision.inspection import open_inspection_if_due
    from duban.supervision.models import Circular, EscalationStep, InspectionItem, InspectionRound, LedgerEntry
    from duban.units.models import Unit

    with tenant_context(world.alpha):
        cast = make_cast()
        matters = {state: to_state(cast, state)
                   for state in ("proposed", "registered", "approved", "assigned", "in_progress", "reported")}
        in_progress = matters["in_progress"]
        actions.do_give_feedback(in_progress.pk, actor=cast.lead_clerk, kind="written", text="已完成设计招标")
        do_attach_file(in_progress.pk, actor=cast.lead_clerk, upload=SimpleUploadedFile(
            "方案.pdf", b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", content_type="application/pdf"))
        actions.do_request_extension(in_progress.pk, actor=cast.lead_clerk,
                                     new_deadline=in_progress.deadline + timedelta(days=30), reason="雨季施工")
        decided = to_state(cast, "in_progress")
        request = actions.do_request_extension(decided.pk, actor=cast.lead_clerk,
                                               new_deadline=decided.deadline + timedelta(days=20), reason="材料未到")
        actions.do_decide_request(request.pk, actor=cast.office, approve=True, note="同意")
        actions.do_accept_result(to_state(cast, "reported").pk, actor=cast.office, reasons="")
        actions.do_send_back(to_state(cast, "reported").pk, actor=cast.office, reasons="缺少验收材料")

        with as_of(date(2026, 9, 1)):
            overdue = [to_state(cast, "in_progress", deadline_working_days=10) for _ in range(2)]
        with as_of(date(2026, 11, 20)):
            step_actions.sweep()
        first = EscalationStep.objects.filter(status="due", matter=overdue[0]).first()
        if first is not None:
            do_record_step(first.pk, actor=cast.staff, on=date(2026, 11, 20), evidence={
                "contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"})
        entry = LedgerEntry.objects.order_by("pk").first()
        if entry is not None:
            do_reverse_entry(entry.pk, actor=cast.office, reason="误记")

        actions.do_open_round(actor=cast.staff, title="年度征集", due_date=date(2099, 1, 1), leaders=[cast.leader])
        circular_record(cast, on=date(2026, 8, 3))
        circular_record(cast, on=date(2026, 5, 6))
        draft = do_draft_circular(actor=cast.staff, title="第三季度通报", period_start=date(2026, 7, 1),
                                            period_end=date(2026, 9, 30))
        do_set_circular_lists(draft.pk, actor=cast.staff, praised=["T01"], criticised=[])
        published = do_draft_circular(actor=cast.staff, title="第二季度通报", period_start=date(2026, 4, 1),
                                                period_end=date(2026, 6, 30))
        do_set_circular_lists(published.pk, actor=cast.staff, praised=["T01"], criticised=["D01"])
        do_publish_circular(published.pk, actor=cast.office)
        with as_of(date(2026, 12, 20)):
            open_inspection_if_due()
            item = InspectionItem.objects.order_by("pk").first()
            if item is not None:
                do_record_inspection(item.pk, actor=cast.staff, result="on_track", findings="按计划推进")

        def ids(model):
            return list(model.objects.order_by("pk").values_list("pk", flat=True))

        known = {
            "matters": ids(Matter), "change-requests": ids(ChangeRequest), "rounds": ids(CollectionRound),
            "steps": ids(EscalationStep), "ledger": ids(LedgerEntry), "circulars": ids(Circular),
            "inspection-rounds": ids(InspectionRound), "inspection-items": ids(InspectionItem),
            "users": ids(User), "units": list(Unit.objects.order_by("code").values_list("code", flat=True)),
        }
        known["scores"] = known["units"]
        states = set(Matter.objects.values_list("state", flat=True))
    assert {"proposed", "registered", "approved", "assigned", "in_progress", "reported", "closed", "redo"} <= states
    for kind in ("change-requests", "rounds", "steps", "ledger", "circulars", "inspection-items"):
        assert len(known[kind]) >= 2 or kind == "rounds", f"the seed made too few {kind}: {known[kind]}"
    return known


def _persona_token(world, persona: str) -> str:
    if persona == "owner":
        return world.owner.token
    if persona == "colleague":
        return world.colleague.token
    from conftest import api_key  # like this module's other imports: Django is set up by then

    from duban.accounts.models import User

    assert persona == "admin", persona
    with tenant_context(world.alpha):
        return api_key(User.objects.get(username="admin"))


def _fuzz(schema, app: InProcessWSGI, host: str, token: str, known: dict, persona: str) -> Run:
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance
    from schemathesis.core.failures import Failure, FailureGroup

    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    base_url = f"http://{host}"
    headers = {"Authorization": f"Token {token}"}
    run = Run()

    def exercise(case) -> None:
        response = case.call(base_url=base_url, headers=headers)
        run.requests += 1
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        label = case.operation.label

        def finding(kind: str, detail: str = "") -> Finding:
            return Finding(persona, label, kind, response.status_code, _describe_request(response),
                           _describe_response(response), detail)

        if response.status_code >= 500:
            run.server_errors += 1
            run.add(finding("server error", app.last_traceback))
        if app.poisoned:
            run.add(finding("database error swallowed (transaction aborted)", app.poisoned))
        try:
            case.validate_response(response, checks=checks, headers=headers,
                                   transport_kwargs={"base_url": base_url, "headers": headers})
        except FailureGroup as group:
            for failure in group.exceptions:
                if failure.title == "Server error":
                    continue  # recorded above, with its traceback
                run.add(finding(failure.title, failure.message))
        except Failure as failure:
            run.add(finding(failure.title, failure.message))
        if 400 <= response.status_code < 500:
            problem = _error_envelope_problem(response)
            if problem:
                run.add(finding(f"error body not as documented: {problem}"))

    for result in schema.get_all_operations():
        operation = result.ok()
        run.operations += 1
        collection = operation.path[len("/" + API_PREFIX):].split("/")[0]
        real = known.get(collection) or []
        negatable = len(operation.query) > 0 or len(operation.body) > 0
        modes = [GenerationMode.POSITIVE]
        if negatable:
            modes.append(GenerationMode.NEGATIVE)
        else:  # schemathesis keeps path parameters valid: nothing to negate (awkward ids: test 4)
            run.skipped.append(f"{operation.label}: no negative data (path parameters only)")
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)

            @hypothesis_settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                                 report_multiple_bugs=False)
            @given(case=strategy, data=st.data())
            def one(case, data):
                # Half of the time, a real id of the collection (else schemathesis's random one).
                for name in ("id", "code"):
                    # `one` runs at once, inside this iteration: `real` is this collection's.
                    if real and (case.path_parameters or {}).get(name) is not None and data.draw(st.booleans()):  # noqa: B023
                        case.path_parameters[name] = data.draw(st.sampled_from(real))  # noqa: B023
                exercise(case)

            try:
                one()
            except Unsatisfiable:
                run.skipped.append(f"{operation.label} ({mode.value}): no such data")
    return run


def _report(run: Run, persona: str) -> str:
    lines = [f"schemathesis [{persona}]: {run.operations} operations, {run.requests} requests, "
             f"{run.server_errors} server errors, {len(run.findings)} distinct findings; "
             f"statuses {dict(sorted(run.statuses.items()))}"]
    for key, finding in run.findings.items():
        lines.append(f"--- ({run.counts[key]}x) {finding}")
    return "\n".join(lines)


@pytest.fixture
def fuzz_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploads the fuzz gets accepted (and the seed's) stay here
    settings.DUBAN_API_THROTTLE = {"user": None, "anon": None}
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    return settings


@pytest.mark.parametrize("persona", ["owner", "colleague", "admin"])
def test_schemathesis_fuzz_of_the_county_api(world, fuzz_settings, persona):
    """Every operation of the county schema, positive and negative data, as supervision staff
    (the owner), as a unit clerk (the colleague) and as the county admin (the only role whose
    POSTs to /units/ and /users/ get past the role check)."""
    import schemathesis

    known = _seed(world)
    token = _persona_token(world, persona)
    host = world.owner.host
    with InProcessWSGI() as app:
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app, headers={"Host": host})
        run = _fuzz(schema, app, host, token, known, persona)
    report = _report(run, persona)
    print("\n" + report)
    LINES.append(report.splitlines()[0])
    assert run.operations >= 50 and run.requests >= run.operations * MAX_EXAMPLES
    assert not run.findings, report


# --- 4. awkward ids and numbers, every operation, deterministically ----------------------------
# Values the fuzz found (or that sit next to them): a digit that is not a decimal digit ("³":
# str.isdigit() says yes, int() says no), a decimal digit of another script ("٣": int() reads 3),
# and numbers past what a year, a date or a 64-bit integer can hold.
AWKWARD_IDS = ["³", "٣", "1²", "99999999999999999999", "-1", "0", "1.5", "%00", "a%00b", "%25", "%FF"]
AWKWARD_NUMBERS = ["0", "-1", "1.5", "-1.5e-142", "1e308", "99999999999999999999", "³", "nan", "inf"]
# (percent-encoded as sent: a NUL, a lone "%", bytes that are not UTF-8, a long value)
AWKWARD_STRINGS = ["%00", "a%00b", "%25", "%FF", "%ED%A0%80", "x" * 5000]


def _deref(spec: dict, node):
    if isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _deref(spec, target)
    return node


def _minimal(spec: dict, schema) -> object:
    """The smallest value of ``schema`` that is valid (required properties only)."""
    schema = _deref(spec, schema or {})
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            return _minimal(spec, schema[key][0])
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _minimal(spec, props[name]) for name in schema.get("required", []) if name in props}
    if kind == "array":
        return [_minimal(spec, schema.get("items", {}))] * schema.get("minItems", 0)
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return {"date": "2099-01-01", "date-time": "2099-01-01T10:00:00+08:00"}.get(schema.get("format"), "x")


def _awkward_requests(spec: dict):
    """(method, path, query, json body) for every operation: each awkward id in its path
    parameter, each awkward number or string in each query parameter of that type; the body is
    the smallest valid one, so that the request gets past input validation to the lookup."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            params = [_deref(spec, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]]
            body = None
            content = _deref(spec, operation.get("requestBody", {})).get("content", {})
            if "application/json" in content:
                body = _minimal(spec, content["application/json"].get("schema", {}))
            names = [p["name"] for p in params if p["in"] == "path"]
            for name in names:
                for value in AWKWARD_IDS:
                    yield method, path.replace(f"{{{name}}}", value), {}, body
            concrete = path
            for name in names:
                concrete = concrete.replace(f"{{{name}}}", "1" if name == "id" else "D01")
            numbers = [quote(n) for n in AWKWARD_NUMBERS]
            awkward = {"integer": numbers, "number": numbers, "string": AWKWARD_STRINGS}
            for p in params:
                kind = _deref(spec, p.get("schema", {})).get("type")
                if p["in"] == "query" and kind in awkward:
                    for value in awkward[kind]:
                        yield method, concrete, {p["name"]: value}, body


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_awkward_ids_and_numbers_get_no_server_error(world, fuzz_settings, persona):
    """Every operation, deterministically, with the ids, numbers and strings that broke (or sit
    next to what broke) in the fuzz: no 5xx, and a detail GET of an id no row has is 404."""
    from werkzeug.test import Client as WerkzeugClient

    _seed(world)
    token = _persona_token(world, persona)
    spec = _schema(world.owner.host, token)
    errors, sent = [], 0
    with InProcessWSGI() as app:
        client = WerkzeugClient(app)
        for method, path, query, body in _awkward_requests(spec):
            kwargs = {"json": body} if body is not None and method != "get" else {}
            query_text = "&".join(f"{k}={v}" for k, v in query.items())
            response = client.open(path, method=method.upper(), query_string=query_text,
                                   base_url=f"http://{world.owner.host}",
                                   headers={"Authorization": f"Token {token}"}, **kwargs)
            sent += 1
            if response.status_code >= 500 or app.poisoned:
                errors.append(f"{method.upper()} {path}{'?' + query_text if query_text else ''} "
                              f"{json.dumps(body, ensure_ascii=False) if kwargs else ''} -> {response.status_code}\n  "
                              + (app.last_traceback or app.poisoned).replace("\n", "\n  "))
            elif method == "get" and not query and path.rstrip("/").count("/") == 4 and response.status_code != 404:
                # A detail GET with an id no row has (or a code no unit has) is 404, never another row.
                errors.append(f"GET {path} -> {response.status_code}, not 404: {response.get_data(as_text=True)[:150]}")
    summary = f"awkward inputs [{persona}]: {sent} requests, {len(errors)} problems (5xx, or not 404 for no such id)"
    print("\n" + summary)
    LINES.append(summary)
    for error in errors:
        print(error)
    assert sent > 100
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("username", ["a b", "x/y", "\U00050b63", "名字;"])
def test_user_names_the_schema_refuses_are_refused(world, username):
    """A user name outside the documented pattern of UserOut.username is a 400, not a 201 whose
    body then breaks the schema (found by the fuzz as the county admin)."""
    token = _persona_token(world, "admin")
    pattern = _schema(world.owner.host, token)["components"]["schemas"]["UserOut"]["properties"]["username"]["pattern"]
    assert not re.search(pattern, username)
    response = Client().post("/api/v1/users/", {"username": username, "role": "office_leader",
                                                "password": "Very-long-pass-2026"},
                             content_type="application/json", HTTP_HOST=world.owner.host,
                             HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 400, response.content.decode()
    assert "username" in response.json()["error"]["fields"]
