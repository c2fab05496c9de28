"""Each module is one broken rule pack, built on county_default with one thing wrong."""

from plugins.hookspecs import hookimpl


def pack(name, **changes):
    data = {"name": name, "version": "0.0.1", "extends": "county_default",
            "title": {"zh-hans": f"坏包 {name}", "en": f"broken {name}"}}
    data.update(changes)

    @hookimpl
    def duban_rulepacks():
        return [data]

    return duban_rulepacks
