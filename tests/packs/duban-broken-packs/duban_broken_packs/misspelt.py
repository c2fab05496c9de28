from duban_broken_packs import hookimpl, pack

duban_rulepacks = pack("broken_misspelt")


@hookimpl
def duban_compute_deduction(pack, event, history):  # sic: the hook is duban_compute_deductions
    return None
