import duban_no_such_dependency  # noqa: F401 — the vendor forgot a dependency
