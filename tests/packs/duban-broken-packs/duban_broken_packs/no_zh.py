from duban_broken_packs import pack

duban_rulepacks = pack("broken_no_zh", scope=[{"code": "major_decision", "label": {"zh-hans": " ", "en": "Major decisions"}}])
