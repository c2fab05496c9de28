"""Provisioning benchmark: a county by cloning the template vs. by running every migration.

    python bench/provision.py [ROUNDS]

Both methods run the whole `create_county` action (validation, row, host, schema, audit) in the
same run on the same database, alternating, ROUNDS times each (default 7). Prints both medians
and the ratio. Goals: clone ≥ 8× faster than migrations, clone median < 1.5 s.
"""

from __future__ import annotations

import sys
import time

from _support import bench_database, machine, median

GOAL_RATIO = 8.0
GOAL_CLONE_SECONDS = 1.5


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with bench_database() as database:
        from django.db import connection

        from tenants import provisioning

        provisioning.create_city("bench", "基准市", actor="bench")
        # One untimed county per method first: the first clone builds and caches its script.
        timings = {"clone": [], "migrate": []}
        for i in range(rounds + 1):
            for method in ("clone", "migrate"):
                started = time.perf_counter()
                provisioning.create_county(f"b-{method[0]}{i}", f"基准县{i}", "bench", actor="bench",
                                           admin_username=None, method=method)
                elapsed = time.perf_counter() - started
                connection.set_schema_to_public()
                if i:
                    timings[method].append(elapsed)
        clone, migrate = median(timings["clone"]), median(timings["migrate"])
        ratio = migrate / clone
        print(f"provisioning benchmark on {machine()} (database {database}, {rounds} rounds each)")
        print(f"  by migrations: median {migrate * 1000:8.1f} ms   "
              f"(min {min(timings['migrate']) * 1000:.1f}, max {max(timings['migrate']) * 1000:.1f})")
        print(f"  by clone:      median {clone * 1000:8.1f} ms   "
              f"(min {min(timings['clone']) * 1000:.1f}, max {max(timings['clone']) * 1000:.1f})")
        print(f"  ratio migrations/clone: {ratio:.1f}x   (goal ≥ {GOAL_RATIO:.0f}x: "
              f"{'met' if ratio >= GOAL_RATIO else 'NOT met'}; clone < {GOAL_CLONE_SECONDS} s: "
              f"{'met' if clone < GOAL_CLONE_SECONDS else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
