from plugins.county_default import PACK

from duban_broken_packs import hookimpl

DATA = {**PACK, "name": "broken_duplicate_tier", "tiers": PACK["tiers"] + [PACK["tiers"][0]]}


@hookimpl
def duban_rulepacks():
    return [DATA]
