"""Settings of bench/scale.py's additive-migration run (``duban migrate_schemas --executor
multiprocessing`` in a subprocess): the test profile, plus

* ``MIGRATION_MODULES``: one tenant app's migrations read from a throw-away copy (in a temp dir
  on ``PYTHONPATH``) that holds one extra migration, an ``AddField`` the benchmark wrote — so a
  real migration runs over every county while nothing is added to the repository;
* ``TENANT_MULTIPROCESSING_MAX_PROCESSES``: django-tenants' pool size (``--workers``).

Set by the benchmark: DUBAN_BENCH_SCALE_APP (app label), DUBAN_BENCH_SCALE_MIGRATIONS (module of
the copy), DUBAN_BENCH_SCALE_WORKERS.
"""

import os

from duban.settings.test import *  # noqa: F403

MIGRATION_MODULES = {os.environ["DUBAN_BENCH_SCALE_APP"]: os.environ["DUBAN_BENCH_SCALE_MIGRATIONS"]}
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("DUBAN_BENCH_SCALE_WORKERS", "2"))
