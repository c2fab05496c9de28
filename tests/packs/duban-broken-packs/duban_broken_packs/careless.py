"""Declares no pack, but its hook raises for every pack — including other vendors'."""

from duban_broken_packs import hookimpl


@hookimpl
def duban_next_tier(pack, recorded):
    raise RuntimeError("careless vendor code")
