from duban_broken_packs import pack

duban_rulepacks = pack("broken_negative", schedule={"events": [{"code": "phone_urging", "amount": "-0.1"}]})
