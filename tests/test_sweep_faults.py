"""The sweep under faults, with real Celery workers on the test database and broker.

* Two sweeps at once (two ``sweep_county`` messages to a worker with concurrency 2, and two
  threads calling ``steps.sweep``): every overdue matter gets exactly one phone step.
* A sweep whose worker is killed mid-run (``kill -9``): the county is swept exactly once in the
  end — by the message coming back (acks_late + task_reject_on_worker_lost, or the broker's
  visibility timeout) or by the next slot's message.

The sweep opens a county's steps in ONE transaction (one INSERT … ON CONFLICT DO NOTHING), so
no other session can ever see "some but not all" steps committed. To kill a sweep half-way for
certain, a :class:`sweep_helpers.Blocker` holds an uncommitted conflicting row for a matter in
the middle: every sweep's INSERT writes the rows before it and then waits there, visibly
(``pg_stat_activity``), until the test lets go.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
from conftest import wait_until
from django.db import connection
from django_tenants.utils import tenant_context
from sweep_helpers import (
    Blocker,
    GroupWorker,
    backends_in_step_insert,
    broker_kind,
    county_with_overdue_matters,
    filesystem_queue_holds,
    phone_steps,
    redis_age_unacked,
    redis_unacked,
    send_sweep,
    step_open_audits,
    task_finished,
)

pytestmark = [pytest.mark.django_db, pytest.mark.worker]


def assert_exactly_once(schema: str, matter_ids: list[int]) -> None:
    steps = phone_steps(schema)
    missing = [m for m in matter_ids if m not in steps]
    doubled = {m: n for m, n in steps.items() if n != 1}
    assert not missing and not doubled, f"missing {missing[:10]}…, doubled {doubled}"
    assert set(steps) == set(matter_ids)
    audits = step_open_audits(schema)
    assert len(audits) == len(matter_ids) and set(audits.values()) == {1}, "one 'step.open' audit per step"


def test_two_sweeps_at_once_in_a_worker_and_two_in_threads_open_each_step_once(world, tmp_path):
    county, matter_ids = county_with_overdue_matters("sweep-race", 30, workflow=True)
    schema = county.schema_name
    worker = GroupWorker(tmp_path / "race.log", name="race", concurrency=2).start()
    blocker = Blocker(schema, matter_ids[len(matter_ids) // 2])
    opened_in_threads: dict[str, int] = {}
    errors: list[BaseException] = []

    def sweep_in_thread(name):
        from duban.supervision import steps

        try:
            with tenant_context(county):
                opened_in_threads[name] = len(steps.sweep(actor=name))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep_in_thread, args=(f"thread-{i}",)) for i in (1, 2)]
    try:
        task_ids = [send_sweep(county), send_sweep(county)]
        for thread in threads:
            thread.start()
        # All four sweeps are inside their INSERT at the same time, held at the blocked matter
        # (or behind another sweep's uncommitted rows).
        assert wait_until(lambda: len(backends_in_step_insert(waiting_only=True)) == 4, timeout=90), (
            f"not four sweeps at once: {backends_in_step_insert(waiting_only=False)}\n{worker.log()[-3000:]}")
        assert phone_steps(schema) == {}  # nothing committed while they wait
        blocker.release()
        for thread in threads:
            thread.join(90)
        assert not errors, errors
        assert wait_until(lambda: all(task_finished(worker, t) is not None for t in task_ids), timeout=90), \
            worker.log()[-3000:]
    finally:
        blocker.release()
        worker.stop()
    opened_by = {**opened_in_threads, **{t: task_finished(worker, t) for t in task_ids}}
    assert sum(opened_by.values()) == len(matter_ids), opened_by  # each step opened by exactly one sweep
    assert_exactly_once(schema, matter_ids)


def test_a_sweep_whose_pool_process_is_killed_is_redelivered_and_runs_once(world, tmp_path):
    """kill -9 of the pool process running the sweep: the worker's main process sees it lost and,
    with acks_late + task_reject_on_worker_lost, puts the message back; it runs again."""
    county, matter_ids = county_with_overdue_matters("sweep-killchild", 300, workflow=False)
    schema = county.schema_name
    worker = GroupWorker(tmp_path / "killchild.log", name="killchild", concurrency=1).start()
    blocker = Blocker(schema, matter_ids[150])
    try:
        task_id = send_sweep(county)
        assert wait_until(lambda: len(backends_in_step_insert(waiting_only=True)) == 1, timeout=90), \
            worker.log()[-3000:]
        children = worker.pool_children()
        assert len(children) == 1, children
        os.kill(children[0], signal.SIGKILL)  # mid-INSERT: 150 rows written, none committed
        assert wait_until(lambda: "WorkerLostError" in worker.log() or "SIGKILL" in worker.log(), timeout=60), \
            worker.log()[-3000:]
        # The message comes back and a fresh pool process starts the sweep again.
        assert wait_until(lambda: worker.log().count(f"sweep_county[{task_id}] received") == 2, timeout=90), \
            worker.log()[-3000:]
        assert phone_steps(schema) == {}
        blocker.release()  # the orphaned backend of the killed process then dies, rolling back
        assert wait_until(lambda: task_finished(worker, task_id) is not None, timeout=120), worker.log()[-3000:]
    finally:
        blocker.release()
        worker.stop()
    assert task_finished(worker, task_id) == len(matter_ids)  # the second run opened them all
    assert_exactly_once(schema, matter_ids)


def test_a_sweep_whose_worker_is_killed_whole_ends_exactly_once(world, tmp_path):
    """kill -9 of the whole worker (process group). Nobody is left to reject the message:

    * Redis: the message stays in kombu's 'unacked' table (acks_late) and is restored once the
      visibility timeout has passed (3600 s in duban.celery; the test ages the entry instead of
      waiting an hour), and a new worker runs it;
    * filesystem transport: the message file was removed when it was fetched — the transport
      has no acknowledgements, so nothing comes back. The next slot's message (as beat sends
      it) sweeps the county.

    Either way, and after one more slot for good measure, each matter has exactly one step."""
    county, matter_ids = county_with_overdue_matters("sweep-killall", 300, workflow=False)
    schema = county.schema_name
    first = GroupWorker(tmp_path / "first.log", name="first", concurrency=1).start()
    second = GroupWorker(tmp_path / "second.log", name="second", concurrency=1)
    blocker = Blocker(schema, matter_ids[150])
    try:
        task_id = send_sweep(county)
        assert wait_until(lambda: len(backends_in_step_insert(waiting_only=True)) == 1, timeout=90), \
            first.log()[-3000:]
        first.kill_group()  # mid-INSERT: 150 rows written, none committed
        blocker.release()
        # The killed sweep's backend finds its client gone and rolls back: nothing committed.
        assert wait_until(lambda: not backends_in_step_insert(waiting_only=False), timeout=60)
        assert phone_steps(schema) == {}

        if broker_kind() in ("redis", "rediss"):
            tags = redis_unacked(task_id)
            assert len(tags) == 1, "acks_late: the killed worker's message is held as unacknowledged"
            redis_age_unacked(tags, 3700)
            second.start()  # restores visible-again messages when it starts polling
            assert wait_until(lambda: f"sweep_county[{task_id}] received" in second.log(), timeout=90), \
                second.log()[-3000:]
            assert wait_until(lambda: task_finished(second, task_id) is not None, timeout=120), second.log()[-3000:]
            assert task_finished(second, task_id) == len(matter_ids)  # the redelivered message did the work
        else:
            assert broker_kind() == "filesystem"
            assert not filesystem_queue_holds(task_id), "the filesystem transport does not keep fetched messages"
            second.start()
            next_slot = send_sweep(county)
            assert wait_until(lambda: task_finished(second, next_slot) is not None, timeout=120), second.log()[-3000:]
            assert task_finished(second, next_slot) == len(matter_ids)
            assert f"sweep_county[{task_id}] received" not in second.log()  # the lost message never came back
        assert_exactly_once(schema, matter_ids)

        again = send_sweep(county)  # one more slot: nothing left to open
        assert wait_until(lambda: task_finished(second, again) is not None, timeout=120), second.log()[-3000:]
        assert task_finished(second, again) == 0
    finally:
        blocker.release()
        first.stop()
        second.stop()
    assert_exactly_once(schema, matter_ids)
