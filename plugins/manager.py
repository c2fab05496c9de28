"""The one plugin manager: built-in packs and vendors' packs register through the same path,
the ``duban.rulepacks`` entry-point group."""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from dataclasses import dataclass

import pluggy

from plugins import hookspecs

ENTRY_POINT_GROUP = "duban.rulepacks"
DEFAULT_PACK = "county_default"

logger = logging.getLogger(__name__)


@dataclass
class InstalledPack:
    name: str
    version: str
    source: str  # distribution and entry point, e.g. "duban 0.1.0 (county_default = plugins.county_default)"
    ok: bool
    error: str = ""
    pack: object | None = None


class Registry:
    def __init__(self, packs: dict[str, InstalledPack]):
        self._packs = packs

    def get(self, name: str) -> InstalledPack | None:
        return self._packs.get(name)

    def names(self) -> list[str]:
        return list(self._packs)

    def all(self) -> list[InstalledPack]:
        return [self._packs[name] for name in sorted(self._packs)]


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for ep in _entry_points():
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # noqa: BLE001 — a broken pack must not take the platform down
            logger.error("rule pack entry point %s failed to load: %s", ep.name, exc)
    pm.check_pending()
    return pm


@functools.cache
def get_registry() -> Registry:
    packs: dict[str, InstalledPack] = {}
    pm = get_plugin_manager()
    for ep in _entry_points():
        dist = ep.dist
        source = f"{dist.name if dist else '?'} {dist.version if dist else ''} ({ep.name} = {ep.value})"
        plugin = pm.get_plugin(ep.name)
        if plugin is None:
            packs[ep.name] = InstalledPack(ep.name, "?", source, ok=False, error="entry point failed to load")
            continue
        try:
            declared = plugin.duban_rulepacks()
        except Exception as exc:  # noqa: BLE001
            packs[ep.name] = InstalledPack(ep.name, "?", source, ok=False, error=f"{type(exc).__name__}: {exc}")
            continue
        for pack in declared:
            packs[pack.name] = InstalledPack(pack.name, pack.version, source, ok=True, pack=pack)
    return Registry(packs)
