from duban_broken_packs import pack

duban_rulepacks = pack("broken_floor", schedule={"floor": "5"})
