from duban_broken_packs import pack

duban_rulepacks = pack("broken_unknown_event", tiers=[{"code": "onsite", "deduction_event": "site_visit"}])
