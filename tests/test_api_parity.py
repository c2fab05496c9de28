"""Issue 24 point 2: the parity table of docs/api.md — per capability its web page, its CLI command
and its API route side by side — is complete and true.

- Every web write (a URL pattern whose view takes POST, on the county host or the public host),
  every CLI command (each leaf of ``duban <command> <sub> …`` that the project defines) and every
  API write (each POST route of /api/v1/ on either host) is in the table.
- A row where one of the three is missing ("—") says why in its last column.
- Everything the table names exists: a web path (with its method), a CLI command, an API route.

So a new web action or CLI write without an API route fails here until it gets one or the table
says why not — and the other way round.
"""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

from django.core.management import get_commands, load_command_class
from django.urls import URLPattern, URLResolver, get_resolver
from summary import LINES
from test_api_isolation import COUNTY_ROUTES, PUBLIC_ROUTES
from test_api_parameters import schema_path

from duban.web.views_matter_detail import ACTIONS

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "api.md"
HEADING = "## Parity: the web, the command line and the API"
COLUMNS = ["Capability", "Web", "CLI", "API", "Why not"]
NONE = "—"
OUR_APPS = ("duban", "tenants", "plugins")


# --- what the product offers ---------------------------------------------------------------------
def _methods_of(view) -> set[str]:
    """The methods a function view takes: its ``require_http_methods`` list (``require_POST``,
    ``require_safe``… are that decorator), else POST if its body reads ``request.POST`` or
    compares ``request.method`` with POST, else GET."""
    seen, func = set(), view
    while func is not None and id(func) not in seen:
        seen.add(id(func))
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v.isupper() for v in value):
                return {v for v in value if v in ("GET", "POST")}
        func = getattr(func, "__wrapped__", None)
    source = inspect.getsource(inspect.unwrap(view))
    if 'request.method == "POST"' in source or 'request.method != "POST"' in source or "request.POST" in source:
        return {"GET", "POST"}
    return {"GET"}


def _web_path(pattern: str) -> str:
    """``matters/<int:pk>/notice/`` → ``/matters/<pk>/notice/``; ``^scores/annual\\.(?P<fmt>…)$`` →
    ``/scores/annual.<fmt>``."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", pattern)
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def _url_patterns():
    """(route, pattern) of every URL pattern on the county and the public host."""
    def walk(patterns, prefix: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p

    for urlconf in ("duban.urls", "duban.urls_public"):
        yield from walk(get_resolver(urlconf).url_patterns, "")


def web_routes() -> dict[str, set[str]]:
    """{"/path/": {methods}} of every web page on the county and the public host (not the API,
    the admin site or the health probes)."""
    found: dict[str, set[str]] = {}
    for route, p in _url_patterns():
        if route.startswith(("api/", "admin/")) or route in ("healthz", "readyz"):
            continue
        path = _web_path(route)
        methods = _methods_of(p.callback)
        if path == "/matters/<pk>/<action>/":  # one pattern, one page per action
            for name in ACTIONS:
                found.setdefault(f"/matters/<pk>/{name}/", set()).update(methods)
            continue
        found.setdefault(path, set()).update(methods)
    return found


def cli_commands() -> set[str]:
    """Every leaf command the project defines: ``duban report weekly draft``, ``duban sweep``…"""
    found = set()
    for name, app in get_commands().items():
        if not app.startswith(OUR_APPS):
            continue
        parser = load_command_class(app, name).create_parser("duban", name)

        def walk(parser, words):
            subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            if not subs:
                found.add(" ".join(words))
                return
            for choice, sub in subs[0].choices.items():
                walk(sub, [*words, choice])

        walk(parser, ["duban", name])
    return found


def api_routes() -> set[str]:
    """"METHOD /api/v1/path/" of every API route on either host."""
    return {f"{key.split(' ')[0]} {schema_path(pattern)}" for routes in (COUNTY_ROUTES, PUBLIC_ROUTES)
            for key, pattern in routes.items()}


# --- the table -------------------------------------------------------------------------------------
CODE = re.compile(r"`([^`]+)`")


def parity_table() -> list[dict[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text, f"docs/api.md has no section {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == COLUMNS, header
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == len(COLUMNS), f"a row of {len(cells)} cells: {line}"
        rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


def entries(cell: str) -> list[str]:
    return [] if cell == NONE else CODE.findall(cell)


def test_the_parity_table_lists_every_write_and_says_why_where_one_is_missing():
    rows = parity_table()
    web, cli, api = web_routes(), cli_commands(), api_routes()
    problems = []
    named_web, named_cli, named_api = set(), set(), set()
    for row in rows:
        where = f"row {row['Capability']!r}"
        if not row["Capability"]:
            problems.append(f"{where}: no capability")
        for column in ("Web", "CLI", "API"):
            if row[column] != NONE and not entries(row[column]):
                problems.append(f"{where}: {column} is neither — nor `…` entries: {row[column]!r}")
        missing = [column for column in ("Web", "CLI", "API") if row[column] == NONE]
        if missing and len(row["Why not"]) < 12:
            problems.append(f"{where}: no {', '.join(missing)}, and no reason why")
        for entry in entries(row["Web"]):
            method, _, path = entry.partition(" ")
            if method not in ("GET", "POST") or path not in web or method not in web[path]:
                problems.append(f"{where}: no web page `{entry}`")
            named_web.add((method, path))
        for entry in entries(row["CLI"]):
            if entry not in cli:
                problems.append(f"{where}: no command `{entry}`")
            named_cli.add(entry)
        for entry in entries(row["API"]):
            if entry not in api:
                problems.append(f"{where}: no API route `{entry}`")
            named_api.add(entry)
    web_writes = {("POST", path) for path, methods in web.items() if "POST" in methods}
    api_writes = {route for route in api if route.startswith("POST ")}
    problems += [f"web write `POST {path}` is not in the table" for _, path in sorted(web_writes - named_web)]
    problems += [f"command `{command}` is not in the table" for command in sorted(cli - named_cli)]
    problems += [f"API write `{route}` is not in the table" for route in sorted(api_writes - named_api)]
    LINES.append(f"parity table: {len(rows)} capabilities; {len(web_writes)} web writes, {len(cli)} commands, "
                 f"{len(api_writes)} API writes, all listed; {sum(1 for r in rows if r['Why not'] != NONE)} with a "
                 f"reason for what is missing")
    assert not problems, "\n".join(problems)
    assert len(web_writes) >= 40 and len(cli) >= 60 and len(api_writes) >= 40


def test_the_finders_see_what_they_should():
    """The table's test is only as good as what it finds: known writes and known reads."""
    web = web_routes()
    assert "POST" in web["/matters/<pk>/register/"] and "POST" in web["/reports/weekly/draft/"]
    assert "POST" in web["/import/"] and "POST" in web["/platform/counties/new/"]
    assert web["/circulars/<circular_id>/document/"] == {"GET"} and web["/matters/"] == {"GET"}
    assert web["/scores/annual.<fmt>"] == {"GET"} and web["/platform/counties/<slug>/suspend/"] == {"POST"}
    assert "POST" in web["/logout/"]  # no require_* decorator: found by its body
    cli = cli_commands()
    assert {"duban report weekly draft", "duban import_matters", "duban unit import", "duban county create"} <= cli
    api = api_routes()
    assert {"POST /api/v1/matters/{id}/register/", "GET /api/v1/documents/{id}/download/",
            "POST /api/v1/comparison/{code}/reference-pack/"} <= api


# --- one capability, one action -------------------------------------------------------------------
OUR_MODULES = ("duban.", "api.", "tenants.", "plugins.")
# Writes that are not ``do_…`` actions: the Excel importers (all or nothing in their own
# transaction, duban.core.imports.run_import), shared by the web, the API and the CLI.
ENTRY_POINTS = {"import_units", "import_matters"}


def _actions_reached(func, depth: int = 2, seen: set | None = None, owner: type | None = None) -> set[str]:
    """The action functions (``do_…``) a view reaches: the names in its code and in the code nested
    in it (lambdas, inner functions), in what its decorators wrap (``__wrapped__``, closure cells)
    and, ``depth`` calls deep, in the functions of our own modules and the private helper methods
    of its class (``owner``: ``self._run``) it calls by name."""
    seen = set() if seen is None else seen
    if id(func) in seen or not hasattr(func, "__code__"):
        return set()
    seen.add(id(func))
    found: set[str] = set()
    inner = [getattr(func, "__wrapped__", None)]
    for cell in getattr(func, "__closure__", None) or ():
        try:
            inner.append(cell.cell_contents)
        except ValueError:
            continue
    names, codes = set(), [func.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(const for const in code.co_consts if inspect.iscode(const))
    for name in names:
        if name.startswith("do_") or name in ENTRY_POINTS:
            found.add(name)
        elif depth > 0:
            target = func.__globals__.get(name)
            if target is None and owner is not None and name.startswith("_"):  # the class's own helpers
                target = inspect.getattr_static(owner, name, None)
            if inspect.isfunction(target) and target.__module__.startswith(OUR_MODULES):
                found |= _actions_reached(target, depth - 1, seen, owner)
    for value in inner:
        if inspect.isfunction(value) or inspect.ismethod(value):
            found |= _actions_reached(value, depth, seen, owner)
    return found


def web_write_views() -> dict[str, object]:
    """{"/path/": view} of every web page that takes POST."""
    views: dict[str, object] = {}
    for route, p in _url_patterns():
        path = _web_path(route)
        if path == "/matters/<pk>/<action>/":
            views.update({f"/matters/<pk>/{name}/": action.run for name, action in ACTIONS.items()})
        elif not route.startswith("api/") and "POST" in _methods_of(p.callback):
            views.setdefault(path, p.callback)
    return views


def api_write_views() -> dict[str, tuple[object, type]]:
    """{"POST /api/v1/path/": (the viewset's method, the viewset)} of every API write."""
    views: dict[str, tuple[object, type]] = {}
    for route, p in _url_patterns():
        actions = getattr(p.callback, "actions", None) or {}
        cls = getattr(p.callback, "cls", None) or getattr(p.callback, "view_class", None)
        method = actions.get("post") or ("post" if cls is not None and hasattr(cls, "post") else None)
        if method and route.startswith("api/") and "<format>" not in route:
            views.setdefault(f"POST {schema_path(route)}", (getattr(cls, method), cls))
    return views


def test_the_web_and_the_api_of_a_capability_call_the_same_action():
    """Where the table gives a capability both a web page and an API route, the API calls an action
    the web calls: the rules, the audit and the timeline are the action's, so a route calling
    another one — a laxer one (主动督办 without its reason, a step recorded without the files'
    action) — would make the API a way around them. Found failing on: 主动督办 (the API called
    do_record_manual_step, the web do_start_step), 记录督办措施, notification channels, and the
    city's reference pack (a service function, not an action)."""
    web, api = web_write_views(), api_write_views()
    problems, compared = [], 0
    for row in parity_table():
        web_entries = [e.partition(" ")[2] for e in entries(row["Web"]) if e.startswith("POST ")]
        api_entries = [e for e in entries(row["API"]) if e.startswith("POST ")]
        if not web_entries or not api_entries:
            continue
        web_actions = set().union(*(_actions_reached(web[path]) for path in web_entries if path in web))
        api_actions = set().union(*(_actions_reached(api[route][0], owner=api[route][1])
                                    for route in api_entries if route in api))
        compared += 1
        if not api_actions or not web_actions:
            problems.append(f"{row['Capability']}: no action found (web {sorted(web_actions)}, API {sorted(api_actions)})")
        elif api_actions - web_actions:  # the API's own action: the web's rules are not its rules
            problems.append(f"{row['Capability']}: the API calls {', '.join(sorted(api_actions - web_actions))}, "
                            f"the web {', '.join(sorted(web_actions))}")
    LINES.append(f"one capability, one action: {compared} capabilities with a web page and an API route compared")
    assert not problems, "\n".join(problems)
    assert compared >= 30
