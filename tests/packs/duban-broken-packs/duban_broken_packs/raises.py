from duban_broken_packs import hookimpl, pack

duban_rulepacks = pack("broken_raises")


@hookimpl
def duban_compute_deductions(pack, event, history):
    if pack.name == "broken_raises":
        raise ZeroDivisionError("the vendor divided by zero")
    return None
