"""The vendor documentation keeps up with the code (datasette's test_plugin_hooks_are_documented).

* every hook specification in ``plugins/hookspecs.py`` has its own section in
  ``docs/rule-packs.md`` (a heading "### `<hook name>`") with its signature and whether it is
  firstresult;
* every field a pack author writes (``RulePack`` and the models nested in it) is named in the
  guide as `` `field` ``;
* the default pack's README explains every interpretation it commits to and every event of
  its deduction schedule.

No database is needed: these are plain functions.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from pathlib import Path

import pluggy
import pytest
from pydantic import BaseModel

import plugins.hookspecs
from plugins import pack as pack_module
from plugins.county_default.pack import PACK

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "rule-packs.md"
DEFAULT_README = REPO / "plugins" / "county_default" / "README.md"

HEADING = re.compile(r"^### `(?P<name>[A-Za-z_][A-Za-z0-9_]*)`[ \t]*$", re.M)


# --- what the code declares ------------------------------------------------------------------
def _spec_names_from_manager() -> set[str]:
    pm = pluggy.PluginManager(plugins.hookspecs.PROJECT)
    pm.add_hookspecs(plugins.hookspecs)
    return {name for name in vars(pm.hook) if name.startswith(f"{plugins.hookspecs.PROJECT}_")}


def _spec_names_from_module() -> set[str]:
    marker = f"{plugins.hookspecs.PROJECT}_spec"  # the attribute HookspecMarker sets
    return {name for name, obj in vars(plugins.hookspecs).items()
            if inspect.isfunction(obj) and hasattr(obj, marker)}


HOOKS = sorted(_spec_names_from_manager() | _spec_names_from_module())


def _nested_models(annotation) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (``X``, ``X | None``, ``tuple[X, ...]``…)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_nested_models(arg))
    return found


def _author_models() -> list[type[BaseModel]]:
    """RulePack and every model reachable from its fields, in discovery order."""
    seen: list[type[BaseModel]] = []
    todo: list[type[BaseModel]] = [pack_module.RulePack]
    while todo:
        model = todo.pop(0)
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            todo.extend(_nested_models(info.annotation))
    return seen


def _author_fields() -> list[tuple[str, str]]:
    """(model name, key) for every field, by Python name and, where it has one, by alias."""
    fields = []
    for model in _author_models():
        for name, info in model.model_fields.items():
            fields.append((model.__name__, name))
            if info.alias and info.alias != name:
                fields.append((model.__name__, info.alias))
    return fields


def _guide() -> str:
    assert GUIDE.exists(), f"{GUIDE.relative_to(REPO)} is missing"
    return GUIDE.read_text(encoding="utf-8")


def _hook_section(text: str, hook: str) -> str:
    """The text from the hook's heading to the next heading of the same or a higher level."""
    match = re.search(rf"^### `{re.escape(hook)}`[ \t]*$", text, re.M)
    assert match, f"no section for {hook}"
    end = re.compile(r"^#{1,3} ", re.M).search(text, match.end())
    return text[match.end():end.start() if end else len(text)]


# --- sanity of the discovery itself ---------------------------------------------------------
def test_hook_discovery_agrees_and_finds_hooks():
    assert _spec_names_from_manager() == _spec_names_from_module()
    assert "duban_rulepacks" in HOOKS and "duban_compute_deductions" in HOOKS


def test_model_discovery_follows_nested_models():
    names = {model.__name__ for model in _author_models()}
    assert {"RulePack", "ScopeCategory", "Tier", "Trigger", "EvidenceField", "DeductionRule", "Schedule",
            "CalendarSpec", "DocumentText", "Interpretation", "Labels"} <= names


# --- (a) every hook is documented --------------------------------------------------------------
@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_are_documented(hook):
    headings = set(HEADING.findall(_guide()))
    assert hook in headings, (
        f"hook {hook} (plugins/hookspecs.py) has no section in docs/rule-packs.md: "
        f"add a heading \"### `{hook}`\" with its signature, firstresult and default implementation")


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_sections_show_signature_and_firstresult(hook):
    section = _hook_section(_guide(), hook)
    spec = getattr(plugins.hookspecs, hook)
    parameters = list(inspect.signature(spec).parameters)
    definition = re.search(rf"def {hook}\((?P<args>[^)]*)\)", section)
    assert definition, f"the section of {hook} shows no signature `def {hook}(...)` in a code block"
    shown = [a.split(":")[0].strip() for a in definition["args"].replace("\n", " ").split(",") if a.strip()]
    assert shown == parameters, f"{hook}: the guide shows parameters {shown}, the spec has {parameters}"
    firstresult = spec.duban_spec.get("firstresult", False)
    expected = "**firstresult:** yes" if firstresult else "**firstresult:** no"
    assert expected in section, f"{hook}: the guide must say `{expected}`"
    assert "@hookimpl" in section, f"{hook}: the section has no example implementation"


def test_no_documented_hook_is_missing_from_the_specs():
    documented = {name for name in HEADING.findall(_guide()) if name.startswith("duban_")}
    assert documented <= set(HOOKS), f"documented hooks that do not exist: {sorted(documented - set(HOOKS))}"


# --- (b) every field of the data model is documented -----------------------------------------------
@pytest.mark.parametrize(("model", "field"), _author_fields(), ids=lambda v: v)
def test_pack_fields_are_documented(model, field):
    assert f"`{field}`" in _guide(), f"{model}.{field} (plugins/pack.py) is not described in docs/rule-packs.md"


def test_literal_choices_are_documented():
    """Every allowed value of a Literal field (counting modes, bearers, trigger bases…) is named."""
    text = _guide()
    missing = []
    for model in _author_models():
        for name, info in model.model_fields.items():
            for literal in _literals(info.annotation):
                missing.extend(f"{model.__name__}.{name} = {value}" for value in typing.get_args(literal)
                               if f"`{value}`" not in text)
    assert not missing, f"values not described in docs/rule-packs.md: {missing}"


def _literals(annotation) -> list:
    if typing.get_origin(annotation) is typing.Literal:
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (typing.Union, tuple):
        return [lit for arg in typing.get_args(annotation) for lit in _literals(arg)]
    return []


# --- (c) the default pack's README ---------------------------------------------------------------
def _readme() -> str:
    assert DEFAULT_README.exists(), f"{DEFAULT_README.relative_to(REPO)} is missing"
    return DEFAULT_README.read_text(encoding="utf-8")


@pytest.mark.parametrize("code", [i["code"] for i in PACK["interpretations"]])
def test_default_pack_interpretations_are_explained(code):
    assert code in _readme(), f"interpretation {code} of county_default is not explained in its README.md"


@pytest.mark.parametrize("code", [e["code"] for e in PACK["schedule"]["events"]])
def test_default_pack_schedule_events_are_explained(code):
    assert code in _readme(), f"schedule event {code} of county_default is not in its README.md"
