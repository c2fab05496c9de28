"""Issue 24 point 4: lists page, filter and order the same way everywhere.

- ``page_size`` out of range (0, over the maximum, not a number) is a 400 naming it, in Chinese —
  it used to be silently replaced by the default or the maximum; so is a ``page`` that is not a
  page of the list (it used to be DRF's 404, as if the list did not exist).
- Every list documents its ``ordering`` values in the schema (an enum) and honours each of them;
  an ordering it does not know is a 400 naming ``ordering`` (it used to be ignored).
- The long lists — a matter's timeline, the ledger, a person's notifications — page by cursor
  (``?cursor=`` from the ``next`` link): a client following them while rows are added sees every
  row once. A page number there is a 400 that says to follow ``next``.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from summary import LINES
from test_api_parameters import _concrete, _deref, _seed_more, _tokens, get_routes
from test_api_schema import _schema, _seed

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-21")]

CJK = re.compile(r"[\u4e00-\u9fff]")
CURSOR_LISTS = {"/api/v1/matters/{id}/timeline/", "/api/v1/ledger/", "/api/v1/notifications/"}
# A list that is not a list of records: every event × channel of one person, in a fixed order.
UNORDERED = {"/api/v1/notification-preferences/"}


def get(world, path, token=None, **query):
    return Client().get(path, query, HTTP_HOST=world.owner.host, HTTP_AUTHORIZATION=f"Token {token or world.owner.token}")


def refused(response, name: str) -> str:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert list(error["fields"]) == [name], error
    message = " ".join(error["fields"][name])
    assert CJK.search(message), message
    return message


@pytest.mark.parametrize("value", ["0", "-5", "201", "100000", "abc", "1.5", ""])
def test_page_size_out_of_range_is_a_400_naming_it(world, value):
    if value == "":
        assert get(world, "/api/v1/matters/", page_size=value).status_code == 200  # empty: the default
        return
    message = refused(get(world, "/api/v1/matters/", page_size=value), "page_size")
    assert "200" in message  # says what the range is
    refused(get(world, "/api/v1/ledger/", page_size=value), "page_size")  # cursor lists too


def test_page_size_within_range_is_honoured(world):
    from matter_helpers import make_cast, to_state

    with tenant_context(world.alpha):
        cast = make_cast()
        for _ in range(3):
            to_state(cast, "proposed")
    for size in (1, 2, 200):
        body = get(world, "/api/v1/matters/", page_size=size).json()
        assert len(body["results"]) == min(size, body["count"]) and body["count"] >= 3


@pytest.mark.parametrize("value", ["0", "-1", "abc", "99"])
def test_a_page_that_is_not_a_page_of_the_list_is_a_400_naming_page(world, value):
    refused(get(world, "/api/v1/matters/", page=value), "page")


def test_a_page_number_on_a_cursor_list_says_to_follow_next(world):
    message = refused(get(world, "/api/v1/ledger/", page=2), "page")
    assert "next" in message


def test_a_cursor_that_is_not_ours_is_a_400_naming_cursor(world):
    refused(get(world, "/api/v1/ledger/", cursor="not-a-cursor"), "cursor")


# --- ordering --------------------------------------------------------------------------------------
def _list_operations(spec: dict) -> dict[str, dict]:
    """GET operations answering a list (an array, or a page of ``results``)."""
    found = {}
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if not operation or path in UNORDERED:
            continue
        content = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        schema = _deref(spec, content.get("schema", {}))
        if schema.get("type") == "array" or "results" in schema.get("properties", {}):
            found[path] = operation
    return found


def _ordering_values(spec: dict, operation: dict) -> list[str] | None:
    for param in operation.get("parameters", []):
        param = _deref(spec, param)
        if param["in"] == "query" and param["name"] == "ordering":
            schema = _deref(spec, param["schema"])
            items = _deref(spec, schema.get("items", {})) if schema.get("type") == "array" else schema
            return items.get("enum")
    return None


def _comparable(value):
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def _sorted_as_postgres(values: list, descending: bool) -> list:
    """PostgreSQL's order: NULLs last ascending, first descending."""
    present = sorted((v for v in values if v is not None), key=_comparable, reverse=descending)
    nulls = [v for v in values if v is None]
    return nulls + present if descending else present + nulls


def _results(response) -> list[dict]:
    data = response.json()
    return data["results"] if isinstance(data, dict) else data


def test_every_list_documents_and_honours_its_ordering(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DUBAN_API_THROTTLE = {"user": None, "anon": None}
    _seed(world)
    _seed_more(world)
    tokens = _tokens(world)
    routes = get_routes()
    spec = _schema(world.owner.host, world.owner.token)
    lists = _list_operations(spec)
    assert len(lists) >= 15, sorted(lists)
    problems, checked = [], 0
    for path, operation in sorted(lists.items()):
        values = _ordering_values(spec, operation)
        if not values:
            problems.append(f"GET {path}: no ordering values documented")
            continue
        owner = routes.get(path, "staff")
        token = tokens[owner]
        concrete = _concrete(path, _Caller(world, tokens), owner)
        unknown = get(world, concrete, token, ordering="no_such_field")
        if unknown.status_code != 400 or "ordering" not in unknown.json().get("error", {}).get("fields", {}):
            problems.append(f"GET {concrete}?ordering=no_such_field: {unknown.status_code}, not a 400 naming ordering")
        for value in values:
            field = value.lstrip("-")
            response = get(world, concrete, token, ordering=value, page_size=200)
            if response.status_code != 200:
                problems.append(f"GET {concrete}?ordering={value}: {response.status_code} {response.content[:200]!r}")
                continue
            rows = _results(response)
            if len(rows) < 2:
                problems.append(f"GET {concrete}?ordering={value}: fewer than two rows to see an order")
                continue
            if field not in rows[0]:
                problems.append(f"GET {concrete}?ordering={value}: the rows have no {field!r} to show the order")
                continue
            got = [row[field] for row in rows]
            if got != _sorted_as_postgres(got, value.startswith("-")):
                problems.append(f"GET {concrete}?ordering={value}: not in that order: {got}")
            checked += 1
    LINES.append(f"ordering: {len(lists)} lists, {checked} orderings honoured, {len(problems)} problems")
    assert not problems, "\n".join(problems)


class _Caller:
    def __init__(self, world, tokens):
        self.world, self.tokens = world, tokens

    def get(self, owner, path, query=None):
        return get(self.world, path, self.tokens[owner], **(query or {}))


# --- cursor pagination: follow a list while rows are added -----------------------------------------
def _follow(world, token, path, *, add=None, **query) -> tuple[list, dict]:
    """Every row's id, page after page by the ``next`` link (``add()`` called after each page)."""
    response = get(world, path, token, page_size=2, **query)
    assert response.status_code == 200, response.content[:300]
    first = response.json()
    seen = [row["id"] for row in first["results"]]
    body = first
    pages = 1
    while body["next"]:
        if add:
            add()
        parts = urlsplit(body["next"])
        assert parts.path == path, body["next"]
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert "cursor" in params and "page" not in params, body["next"]
        response = get(world, path, token, **params)
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        seen += [row["id"] for row in body["results"]]
        pages += 1
        assert pages < 100
    return seen, first


def test_the_ledger_followed_while_entries_are_added_shows_each_entry_once(world):
    from matter_helpers import make_cast, to_state

    from duban.core.clock import as_of
    from duban.supervision.actions import do_record_manual_step
    from duban.supervision.models import LedgerEntry

    phone = {"contact": "王科长", "contacted_at": "2026-11-20T10:00", "promised_date": "2026-12-01"}
    notice = {"requirements": "三日内专题答复", "reply_due": "2099-12-05"}
    with tenant_context(world.alpha):
        cast = make_cast()
        with as_of(date(2026, 9, 1)):
            matters = [to_state(cast, "in_progress", deadline_working_days=10) for _ in range(6)]
        for matter in matters[:4]:
            do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=phone, on=date(2026, 11, 20))
            do_record_manual_step(matter.pk, actor=cast.staff, tier="written_notice", evidence=notice,
                                  on=date(2026, 11, 21))
        before = list(LedgerEntry.objects.order_by("-id").values_list("id", flat=True))
    assert len(before) >= 4, before
    later = iter(matters[4:])

    def add():  # a deduction recorded meanwhile (and dated earlier than the ones already seen)
        matter = next(later, None)
        if matter is None:
            return
        with tenant_context(world.alpha):
            do_record_manual_step(matter.pk, actor=cast.staff, tier="phone", evidence=phone, on=date(2026, 11, 2))
            do_record_manual_step(matter.pk, actor=cast.staff, tier="written_notice", evidence=notice,
                                  on=date(2026, 11, 3))

    seen, first = _follow(world, world.owner.token, "/api/v1/ledger/", add=add)
    assert "count" not in first and {"next", "previous", "results"} <= set(first)
    assert len(seen) == len(set(seen)), f"an entry twice: {seen}"
    assert seen == before, "newest first, each entry of the first page's moment once, none skipped"


def test_a_timeline_followed_while_events_are_added_shows_each_event_once(world):
    from conftest import api_key
    from matter_helpers import make_cast, to_state

    from duban.matters import actions

    with tenant_context(world.alpha):
        cast = make_cast()
        matter = to_state(cast, "in_progress")
        for n in range(3):
            actions.do_give_feedback(matter.pk, actor=cast.lead_clerk, kind="written", text=f"第{n + 1}次反馈")
        token = api_key(cast.lead_clerk)
    path = f"/api/v1/matters/{matter.pk}/timeline/"
    added = []

    def add():
        with tenant_context(world.alpha):
            actions.do_give_feedback(matter.pk, actor=cast.lead_clerk, kind="written", text="又一次反馈")
        added.append(1)

    seen, _first = _follow(world, token, path, add=add)
    with tenant_context(world.alpha):
        from duban.audit.models import AuditEvent
        events = list(AuditEvent.objects.filter(object_type="matters.matter", object_id=str(matter.pk)).order_by("id")
                      .values_list("id", flat=True))
    assert len(seen) == len(set(seen)), f"an event twice: {seen}"
    assert added and seen == sorted(seen), "oldest first"
    assert set(seen) <= set(events) and len(seen) >= 8


def test_notifications_followed_while_new_ones_arrive(world):
    from conftest import api_key
    from matter_helpers import make_cast, to_state

    from duban.notifications.models import Notification

    with tenant_context(world.alpha):
        cast = make_cast()
        for _ in range(3):
            to_state(cast, "assigned")  # each assignment notifies the lead unit's clerk
        before = list(Notification.objects.filter(recipient=cast.lead_clerk).order_by("-id").values_list("id", flat=True))
        token = api_key(cast.lead_clerk)
    assert len(before) >= 3

    def add():
        with tenant_context(world.alpha):
            to_state(cast, "assigned")

    seen, _first = _follow(world, token, "/api/v1/notifications/", add=add)
    assert seen == before


def test_the_schema_documents_cursor_pagination_for_the_long_lists(world):
    spec = _schema(world.owner.host, world.owner.token)
    for path in CURSOR_LISTS:
        names = {_deref(spec, p)["name"] for p in spec["paths"][path]["get"].get("parameters", [])}
        assert {"cursor", "page_size", "ordering"} <= names and "page" not in names, (path, names)
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        page = _deref(spec, content["schema"])
        assert set(page["properties"]) == {"next", "previous", "results"}, (path, page["properties"])
    matters = {_deref(spec, p)["name"] for p in spec["paths"]["/api/v1/matters/"]["get"]["parameters"]}
    assert {"page", "page_size", "ordering"} <= matters and "cursor" not in matters
    size = next(_deref(spec, p) for p in spec["paths"]["/api/v1/matters/"]["get"]["parameters"]
                if _deref(spec, p)["name"] == "page_size")
    assert (_deref(spec, size["schema"]).get("minimum"), _deref(spec, size["schema"]).get("maximum")) == (1, 200)
