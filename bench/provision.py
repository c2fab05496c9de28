"""Provisioning benchmark: a county from the spare pool, by cloning the template, and by running
every migration.

    python bench/provision.py [ROUNDS]

The three methods run the whole `create_county` action (validation, row, host, schema, audit) in
the same run on the same database, in turn, ROUNDS times each (default 7). Before each round the
pool of spare schemas is refilled (untimed: beat's work, not the operator's wait). Prints the
medians and the ratios. Goals: the county from the pool ≥ 20× faster than by migrations; a clone
≥ 8× faster than migrations; the clone's median < 1.5 s.
"""

from __future__ import annotations

import os
import sys
import time

from _support import bench_database, machine, median

os.environ.setdefault("DUBAN_SPARE_SCHEMAS", "3")  # the production default (the test settings have none)
GOAL_SPARE_RATIO = 20.0
GOAL_RATIO = 8.0
GOAL_CLONE_SECONDS = 1.5
METHODS = ("spare", "clone", "migrate")


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with bench_database() as database:
        from django.db import connection

        from tenants import provisioning, spares

        provisioning.create_city("bench", "基准市", actor="bench")
        # One untimed county per method first: the first clone builds and caches its script.
        timings = {method: [] for method in METHODS}
        for i in range(rounds + 1):
            spares.refill(1, actor="bench")
            for method in METHODS:
                started = time.perf_counter()
                made = provisioning.create_county(f"b-{method[0]}{i}", f"基准县{i}", "bench", actor="bench",
                                                  admin_username=None, method=method)
                elapsed = time.perf_counter() - started
                if made.method != method:
                    raise SystemExit(f"bench: asked for {method}, the county was made by {made.method}")
                connection.set_schema_to_public()
                if i:
                    timings[method].append(elapsed)
        spare, clone, migrate = (median(timings[m]) for m in METHODS)
        print(f"provisioning benchmark on {machine()} (database {database}, {rounds} rounds each)")
        for label, method in (("by migrations", "migrate"), ("by clone", "clone"), ("from the pool", "spare")):
            values = timings[method]
            print(f"  {label + ':':15}median {median(values) * 1000:8.1f} ms   "
                  f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})")
        print(f"  ratio migrations/pool: {migrate / spare:.1f}x   (goal ≥ {GOAL_SPARE_RATIO:.0f}x: "
              f"{'met' if migrate / spare >= GOAL_SPARE_RATIO else 'NOT met'})")
        print(f"  ratio migrations/clone: {migrate / clone:.1f}x   (goal ≥ {GOAL_RATIO:.0f}x: "
              f"{'met' if migrate / clone >= GOAL_RATIO else 'NOT met'}; clone < {GOAL_CLONE_SECONDS} s: "
              f"{'met' if clone < GOAL_CLONE_SECONDS else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
