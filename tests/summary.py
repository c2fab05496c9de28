"""Lines a test wants printed at the end of the run (the isolation matrix, the fuzz summary).

Tests append to ``LINES``; ``conftest.pytest_terminal_summary`` prints them after the results."""

LINES: list[str] = []
