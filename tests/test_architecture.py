"""The shape of the code (docs/architecture.md, "Layers"): imports point down the layer list, no
module imports itself round a circle, the core knows no area, and imports hidden inside functions
are few and explained.

Read from the source with ``ast``, nothing imported: a failure names the file, the line and the
import. The layer list is kept here, in one place; docs/architecture.md draws it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer or a lower one. A package's name stands for
# everything under it (``duban.matters`` covers ``duban.matters.states``); ``duban.urls`` also
# covers ``duban.urls_public``.
LAYERS: list[tuple[str, list[str]]] = [
    ("base", ["duban", "duban.settings", "duban.observability", "duban.scoring", "duban.workcalendar", "plugins",
              "duban.core", "duban.accounts", "duban.audit", "duban.units", "duban.identity", "tenants", "duban.ops",
              "duban.tasks", "duban.celery"]),
    ("documents", ["duban.documents"]),
    # plugins.channels_cn: a plugin (loaded by its entry point, never imported by plugins.manager)
    # whose channels read the county's accounts and send through the notifications' egress.
    ("notifications", ["duban.notifications", "plugins.channels_cn"]),
    ("matters", ["duban.matters"]),
    ("supervision", ["duban.supervision"]),
    ("reports", ["duban.reports"]),
    ("comparison", ["duban.comparison"]),
    ("top", ["duban.demo", "duban.web", "api", "duban.urls", "duban.cli", "duban.devenv", "duban.asgi",
             "duban.wsgi"]),
]

# The areas of the product: the core (county context, errors, actions, commands) imports none of them.
AREAS = ["duban.accounts", "duban.audit", "duban.units", "duban.identity", "duban.documents", "duban.notifications",
         "duban.matters", "duban.supervision", "duban.reports", "duban.comparison", "duban.demo", "duban.web", "api"]

# Source roots and the import name of their top package; platform/ is a folder, not a package.
ROOTS = {"platform/duban": "duban", "api": "api", "tenants": "tenants", "plugins": "plugins"}
OURS = set(ROOTS.values())

# Imports inside functions in product code: at most this many, each with a comment on its line
# (a noqa for PLC0415 and why it must stay there).
FUNCTION_IMPORT_BUDGET = 20


@dataclass(frozen=True)
class Import:
    path: str  # relative to the repository
    line: int
    source: str  # importing module
    target: str  # imported module, or module.name for each name of ``from module import name``
    named: bool  # the module the statement names (not one of the names taken from it)
    in_function: bool
    at_import_time: bool  # runs when the module is imported (not in a function, not under TYPE_CHECKING)
    text: str  # the statement's first line, as written

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def _module_name(path: Path) -> str:
    for root, package in ROOTS.items():
        base = REPO / root
        if path.is_relative_to(base):
            parts = path.relative_to(base).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            return ".".join((package, *parts))
    raise AssertionError(path)


def _product_files() -> list[Path]:
    files = []
    for root in ROOTS:
        files += [p for p in sorted((REPO / root).rglob("*.py")) if "migrations" not in p.relative_to(REPO).parts]
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports_of(path: Path) -> list[Import]:
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.Import):
                targets = [(alias.name, True) for alias in node.names]
            else:
                base = _resolve(module, is_package, node)
                targets = [(base, True)] + [(f"{base}.{alias.name}", False) for alias in node.names if alias.name != "*"]
            for target, named in targets:
                if target.split(".")[0] in OURS:
                    found.append(Import(str(path.relative_to(REPO)), node.lineno, module, target, named, in_function,
                                        not in_function and not type_checking, lines[node.lineno - 1].strip()))
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function = True
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                visit(stmt, in_function, True)
            for stmt in node.orelse:
                visit(stmt, in_function, type_checking)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, in_function, type_checking)

    visit(ast.parse(source, str(path)), False, False)
    return found


_CACHE: list[Import] = []


def all_imports() -> list[Import]:
    if not _CACHE:
        for path in _product_files():
            _CACHE.extend(_imports_of(path))
    return _CACHE


def layer_of(module: str) -> tuple[int, str] | None:
    """(layer index, the layer list's package) of the longest entry covering ``module``."""
    best = None
    for index, (_name, packages) in enumerate(LAYERS):
        for package in packages:
            covers = module == package or module.startswith(package + ".") or (
                package == "duban.urls" and module.startswith("duban.urls"))
            if covers and (best is None or len(package) > len(best[1])):
                best = (index, package)
    return best


def _known_modules() -> set[str]:
    return {_module_name(path) for path in _product_files()}


def test_every_module_has_a_layer():
    missing = sorted(module for module in _known_modules() if layer_of(module) is None)
    assert not missing, "modules in no layer (add their package to LAYERS in tests/test_architecture.py):\n" + "\n".join(
        missing)


def test_imports_point_down_the_layers():
    """Every import — at the top of a module or inside a function — goes to the importer's own
    layer or a lower one."""
    upward = []
    for imp in (imp for imp in all_imports() if imp.named):
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is None or target is None:
            continue
        if target[0] > source[0]:
            upward.append(f"{imp.where()}  ({source[1]}, layer {LAYERS[source[0]][0]} → {imp.target}, "
                          f"layer {LAYERS[target[0]][0]})")
    upward = sorted(set(upward))
    assert not upward, f"{len(upward)} imports point up the layers:\n" + "\n".join(upward)


def test_core_imports_no_area():
    """duban.core is the county context, the errors, the actions and the commands' base: every
    area builds on it, so it imports none of them."""
    offenders = []
    for imp in (imp for imp in all_imports() if imp.named):
        if imp.source == "duban.core" or imp.source.startswith("duban.core."):
            hit = [area for area in AREAS if imp.target == area or imp.target.startswith(area + ".")]
            if hit:
                offenders.append(f"{imp.where()}  (core → {hit[0]})")
    offenders = sorted(set(offenders))
    assert not offenders, "duban.core imports an area:\n" + "\n".join(offenders)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules deep at most)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    components.append(sorted(component))
    return components


def _cycles(include) -> tuple[list[list[str]], list[str]]:
    modules = _known_modules()
    graph: dict[str, set[str]] = {module: set() for module in modules}
    edges: dict[tuple[str, str], Import] = {}
    for imp in all_imports():
        if not include(imp) or imp.target not in modules or imp.target == imp.source:
            continue
        graph[imp.source].add(imp.target)
        edges.setdefault((imp.source, imp.target), imp)
    cycles = _strongly_connected(graph)
    report = []
    for component in cycles:
        members = set(component)
        report.append("cycle: " + " ↔ ".join(component))
        report += [f"  {imp.where()}" for (a, b), imp in sorted(edges.items()) if a in members and b in members]
    return cycles, report


def test_no_import_cycle():
    """No file-level import circle: the imports that run when a module is imported (not those
    inside functions or under TYPE_CHECKING) form no cycle, in any layer."""
    cycles, report = _cycles(lambda imp: imp.at_import_time)
    assert not cycles, f"{len(cycles)} import cycles:\n" + "\n".join(report)


def test_no_import_cycle_hidden_inside_a_function():
    """Nor does an import inside a function close a circle: moving an import into a function
    to dodge a cycle at import time leaves the modules tied in a knot all the same. Only
    imports under TYPE_CHECKING (annotations, never run) are left out."""
    cycles, report = _cycles(lambda imp: imp.at_import_time or imp.in_function)
    assert not cycles, f"{len(cycles)} import cycles through imports inside functions:\n" + "\n".join(report)


def test_function_level_imports_are_few_and_explained():
    """An import inside a function hides a dependency; the few that must stay (an optional
    package, an app-loading order Django imposes) say why on their line."""
    statements = {}
    for path in _product_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    key = (str(path.relative_to(REPO)), inner.lineno)
                    text = "\n".join(lines[inner.lineno - 1: inner.end_lineno])
                    statements[key] = text
    unexplained = sorted(f"{path}:{line}: {text.strip()}" for (path, line), text in statements.items() if "#" not in text)
    print(f"function-level imports in product code: {len(statements)} (budget {FUNCTION_IMPORT_BUDGET})")
    listing = "\n".join(f"{path}:{line}: {text.strip()}" for (path, line), text in sorted(statements.items()))
    assert len(statements) <= FUNCTION_IMPORT_BUDGET, (
        f"{len(statements)} imports inside functions, budget {FUNCTION_IMPORT_BUDGET}; move them to the top:\n{listing}")
    assert not unexplained, "imports inside functions without a comment saying why:\n" + "\n".join(unexplained)


def test_the_layer_picture_names_every_package():
    """docs/architecture.md draws the layers; the picture keeps up with LAYERS."""
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Layers", 1)[-1].split("\n## ", 1)[0]
    missing = [package for _name, packages in LAYERS for package in packages
               if package != "duban" and package not in section]
    assert not missing, f"docs/architecture.md, \"Layers\", does not show: {', '.join(missing)}"
