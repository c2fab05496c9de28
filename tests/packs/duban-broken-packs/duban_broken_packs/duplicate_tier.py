from duban_broken_packs import hookimpl
from plugins.county_default import PACK

DATA = {**PACK, "name": "broken_duplicate_tier", "tiers": PACK["tiers"] + [PACK["tiers"][0]]}


@hookimpl
def duban_rulepacks():
    return [DATA]
