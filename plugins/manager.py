"""The one plugin manager and the registry of installed rule packs.

Built-in packs and vendors' packs register through the same path: the ``duban.rulepacks``
entry-point group (``plugins/county_default`` is declared in pyproject.toml exactly as a
vendor's pack is). A plugin that fails — it will not import, implements a hook that does not
exist (a misspelt name), declares an invalid pack, or raises in a hook at load — is listed as
broken with the reason and unregistered; every other pack and county keeps working.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import threading
from dataclasses import dataclass
from datetime import date

import pluggy

from plugins import builtin, hookspecs
from plugins.events import ScoringEvent
from plugins.pack import PackError, RulePack, _, build_pack, merge

ENTRY_POINT_GROUP = "duban.rulepacks"
DEFAULT_PACK = "county_default"
BUILTIN = "duban.builtin"

logger = logging.getLogger(__name__)
_lock = threading.RLock()
_active: dict[str, pluggy.PluginManager] = {}


class PackUnavailable(LookupError):
    """The county's pack is not installed, is broken, or is installed at another version."""


@dataclass
class InstalledPack:
    name: str
    version: str
    source: str  # "dist version (entry = module)"
    plugin: str  # the plugin (entry point) that declared it
    ok: bool
    error: str = ""
    field: str = ""
    pack: RulePack | None = None
    extends: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "broken"


class Registry:
    def __init__(self, pm: pluggy.PluginManager, packs: dict[str, InstalledPack],
                 plugin_errors: dict[str, str]):
        self.pm = pm
        self._packs = packs
        self.plugin_errors = plugin_errors

    def get(self, name: str) -> InstalledPack | None:
        return self._packs.get(name)

    def names(self) -> list[str]:
        return sorted(self._packs)

    def all(self) -> list[InstalledPack]:
        return [self._packs[name] for name in self.names()]

    def pack(self, name: str, version: str | None = None) -> RulePack:
        entry = self._packs.get(name)
        if entry is None:
            raise PackUnavailable(_("没有安装规则包“%(name)s”（已安装：%(known)s）")
                                  % {"name": name, "known": "、".join(self.names()) or _("无")})
        if not entry.ok or entry.pack is None:
            raise PackUnavailable(_("规则包“%(name)s”无法使用：%(error)s") % {"name": name, "error": entry.error})
        if version and version != entry.version:
            raise PackUnavailable(_("规则包“%(name)s”已安装的版本是 %(installed)s，不是 %(version)s")
                                  % {"name": name, "installed": entry.version, "version": version})
        return entry.pack


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _source(ep: importlib.metadata.EntryPoint) -> str:
    dist = ep.dist
    name = dist.metadata["Name"] if dist else "?"
    version = dist.version if dist else "?"
    return f"{name} {version} ({ep.name} = {ep.value})"


def _register_plugins(pm: pluggy.PluginManager) -> tuple[dict[str, str], dict[str, str]]:
    """Register every entry point; returns (sources by plugin, errors by plugin)."""
    sources: dict[str, str] = {}
    errors: dict[str, str] = {}
    for ep in _entry_points():
        sources[ep.name] = _source(ep)
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken pack must not take the platform down
            errors[ep.name] = _("无法导入 %(target)s：%(error)s") % {"target": ep.value, "error": f"{type(exc).__name__}: {exc}"}
            continue
        try:
            pm.register(plugin, name=ep.name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            errors[ep.name] = _("无法注册：%(error)s") % {"error": exc}
    # Misspelt hooks fail loudly: the plugin is refused, named, and logged.
    while True:
        try:
            pm.check_pending()
            break
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or repr(exc.plugin)
            pm.unregister(exc.plugin)
            errors[name] = _("实现了未知的钩子：%(error)s") % {"error": exc}
    for name, error in errors.items():
        logger.error("rule pack plugin %s refused: %s", name, error)
    return sources, errors


def _declarations(pm: pluggy.PluginManager, sources: dict[str, str], errors: dict[str, str]) -> dict[str, tuple]:
    """{pack name: (declared data or RulePack, plugin name)} across all plugins."""
    declared: dict[str, tuple] = {}
    for impl in pm.hook.duban_rulepacks.get_hookimpls():
        try:
            items = impl.function()
        except Exception as exc:
            errors[impl.plugin_name] = _("duban_rulepacks 出错：%(error)s") % {"error": f"{type(exc).__name__}: {exc}"}
            continue
        for item in items or []:
            name = item.name if isinstance(item, RulePack) else (item or {}).get("name", impl.plugin_name)
            if name in declared:
                errors[impl.plugin_name] = (_("声明了规则包“%(name)s”，插件“%(other)s”也声明了它")
                                             % {"name": name, "other": declared[name][1]})
                continue
            declared[name] = (item, impl.plugin_name)
    return declared


def _resolve(name: str, declared: dict, resolved: dict, stack: tuple = ()) -> RulePack:
    if name in resolved:
        value = resolved[name]
        if isinstance(value, Exception):
            raise value
        return value
    if name in stack:
        raise PackError(name, "extends", _("循环继承：%(chain)s") % {"chain": " → ".join((*stack, name))})
    if name not in declared:
        raise PackError(stack[-1] if stack else name, "extends", _("未知的基础规则包“%(name)s”") % {"name": name})
    item, _plugin = declared[name]
    try:
        if isinstance(item, RulePack):
            pack = item
        else:
            base_name = item.get("extends")
            data = dict(item)
            if base_name:
                base = _resolve(base_name.split("==")[0], declared, resolved, (*stack, name))
                wanted = base_name.partition("==")[2]
                if wanted and wanted != base.version:
                    raise PackError(name, "extends", _("需要 %(wanted)s，已安装的是 %(installed)s")
                                    % {"wanted": base_name, "installed": base.key})
                data = merge(base.to_data(), data)
            pack = build_pack(data, name=name)
    except PackError as exc:
        resolved[name] = exc
        raise
    resolved[name] = pack
    return pack


class HookRaised(Exception):
    def __init__(self, plugin: str, hook: str, pack: str, exc: Exception):
        self.plugin, self.hook, self.pack = plugin, hook, pack
        super().__init__(_("插件“%(plugin)s”的钩子 %(hook)s 在处理规则包“%(pack)s”时出错：%(error)s")
                         % {"plugin": plugin, "hook": hook, "pack": pack, "error": f"{type(exc).__name__}: {exc}"})


def _smoke_calls(pack: RulePack) -> list[tuple[str, dict]]:
    sample_day = date(2026, 6, 15)
    calls = []
    for rule in pack.schedule.events:
        event = ScoringEvent(code=rule.code, unit="U", occurred_on=sample_day, matter="M", ref="load-check")
        calls.append(("duban_compute_deductions", {"pack": pack, "event": event, "history": [event]}))
    calls.append(("duban_assessment_year", {"pack": pack, "day": sample_day}))
    calls.append(("duban_next_tier", {"pack": pack, "recorded": []}))
    calls.append(("duban_notification_channels", {"pack": pack}))
    calls.append(("duban_document_context", {"pack": pack, "document": pack.documents[0].code if pack.documents else "",
                                             "context": {}}))
    return calls


def _smoke_test(pm: pluggy.PluginManager, pack: RulePack) -> None:
    """Call every plugin's hooks once for ``pack`` at load, so that one which raises is caught
    now, not mid-sweep — and blamed on the plugin whose hook raised, not on the pack."""
    for hook_name, kwargs in _smoke_calls(pack):
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception as exc:
                raise HookRaised(impl.plugin_name, hook_name, pack.name, exc) from exc


def _build() -> Registry:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin.Builtin(pm), name=BUILTIN)
    _active["pm"] = pm  # hooks calling hooks during the load-time checks use this manager
    sources, errors = _register_plugins(pm)
    declared = _declarations(pm, sources, errors)
    packs: dict[str, InstalledPack] = {}
    resolved: dict = {}
    valid: dict[str, RulePack] = {}
    for name, (item, plugin) in sorted(declared.items()):
        source = sources.get(plugin, plugin)
        extends = item.extends if isinstance(item, RulePack) else (item or {}).get("extends")
        version = item.version if isinstance(item, RulePack) else str((item or {}).get("version", "?"))
        if plugin in errors:
            packs[name] = InstalledPack(name, version, source, plugin, ok=False, error=errors[plugin], extends=extends)
            continue
        try:
            pack = _resolve(name, declared, resolved)
            problems = [p for result in pm.hook.duban_validate_pack(pack=pack) if result for p in result]
            if problems:
                field, _colon, message = problems[0].partition(": ")
                raise PackError(name, field if message else "", message or field)
        except PackError as exc:
            packs[name] = InstalledPack(name, version, source, plugin, ok=False, error=str(exc),
                                        field=exc.field, extends=extends)
            continue
        valid[name] = pack
        packs[name] = InstalledPack(pack.name, pack.version, source, plugin, ok=True, pack=pack, extends=extends)

    # Hooks raising at load: the plugin whose hook raised is taken out (so that it cannot break
    # other packs), its packs are marked broken, and the check runs again for the rest.
    while True:
        try:
            for pack in valid.values():
                _smoke_test(pm, pack)
            break
        except HookRaised as raised:
            culprit = raised.plugin
            if culprit == BUILTIN:  # a bug of ours with this pack's data: blame the pack
                culprit = packs[raised.pack].plugin
            errors[culprit] = _("加载时钩子出错：%(error)s") % {"error": raised}
            plugin_obj = pm.get_plugin(culprit)
            if plugin_obj is not None:
                pm.unregister(plugin_obj)
            for name, entry in packs.items():
                if entry.plugin == culprit and entry.ok:
                    entry.ok, entry.pack, entry.field = False, None, "hooks"
                    entry.error = _("规则包“%(pack)s”：%(message)s") % {"pack": name, "message": errors[culprit]}
                    valid.pop(name, None)
            # Packs built on a broken pack are broken too.
            for name, entry in packs.items():
                if entry.ok and entry.extends and entry.extends.split("==")[0] not in valid:
                    entry.ok, entry.pack, entry.field = False, None, "extends"
                    entry.error = (_("规则包“%(pack)s”：%(field)s：%(message)s")
                                   % {"pack": name, "field": "extends",
                                      "message": _("基础规则包“%(name)s”无法使用") % {"name": entry.extends}})
                    valid.pop(name, None)
    for plugin, error in errors.items():
        if not any(p.plugin == plugin for p in packs.values()):
            packs[plugin] = InstalledPack(plugin, "?", sources.get(plugin, plugin), plugin, ok=False, error=error)
    for entry in packs.values():
        if not entry.ok:
            logger.error("rule pack %s is broken: %s", entry.name, entry.error)
    return Registry(pm, packs, errors)


@functools.cache
def get_registry() -> Registry:
    with _lock:
        return _build()


def get_plugin_manager() -> pluggy.PluginManager:
    return get_registry().pm


def active_plugin_manager() -> pluggy.PluginManager:
    """The manager being loaded or in use — for hook implementations that call other hooks."""
    return _active.get("pm") or get_plugin_manager()


def reset() -> None:
    """Forget the loaded plugins (after installing or removing a pack; in tests)."""
    get_registry.cache_clear()
    importlib.invalidate_caches()


def get_pack(name: str, version: str | None = None) -> RulePack:
    return get_registry().pack(name, version)


def pack_for_county(county) -> RulePack:
    """The rule pack a county runs, pinned by name and version."""
    return get_pack(county.rulepack_name, county.rulepack_version)
