"""The notification outbox under a killed worker: real Celery worker processes on the test
database and broker, a real HTTP receiver on loopback, ``kill -9`` of the whole worker group while
deliveries are in flight, a new worker and the periodic re-drive — every notification is delivered,
and each delivery succeeds exactly once."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from conftest import REPO, subprocess_env, wait_until
from django_tenants.utils import tenant_context
from notify_helpers import WebhookReceiver
from summary import LINES
from sweep_helpers import GroupWorker, in_thread, raw_connection

pytestmark = [pytest.mark.django_db, pytest.mark.worker]


class OutboxWorker(GroupWorker):
    """A worker whose own retries go back to the test's queue (not the session's)."""

    def start(self):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "duban.celery", "worker", "--loglevel", "INFO",
             "--concurrency", str(self.concurrency), "--hostname", f"{self.name}-{uuid.uuid4().hex[:6]}@%h",
             "--without-gossip", "--without-mingle", "--queues", self.queue],
            env=subprocess_env(DUBAN_TASK_QUEUE=self.queue, DUBAN_NOTIFY_RETRY_SECONDS="1"),
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        if not wait_until(lambda: "ready." in self.log() or self.process.poll() is not None, timeout=60):
            raise RuntimeError(f"worker not ready in 60 s:\n{self.log()[-3000:]}")
        return self


def webhook_deliveries(schema: str) -> dict[int, tuple[str, str, int]]:
    with raw_connection() as conn:
        rows = conn.execute(f'SELECT id, idempotency_key, status, attempts FROM "{schema}".notifications_delivery '
                            "WHERE channel = 'webhook'").fetchall()
    return {pk: (key, status, attempts) for pk, key, status, attempts in rows}


def successful_attempts(schema: str) -> dict[int, int]:
    with raw_connection() as conn:
        rows = conn.execute(f'SELECT delivery_id, count(*) FROM "{schema}".notifications_deliveryattempt '
                            "WHERE ok GROUP BY delivery_id").fetchall()
    return dict(rows)


def test_outbox_kill_worker_mid_delivery_and_restart_delivers_each_exactly_once(world, tmp_path):
    from duban.celery import app

    queue = f"duban-outbox-{uuid.uuid4().hex[:8]}"
    with WebhookReceiver(delay=0.4) as receiver:
        def setup():
            from matter_helpers import PASSWORD, Cast, to_state

            from duban.accounts.actions import do_create_user
            from duban.accounts.models import Role
            from duban.notifications.models import WebhookTarget
            from duban.units.actions import do_create_unit
            from tenants import provisioning

            county = provisioning.create_county("outbox-kill", "投递县", "testcity", actor="tests",
                                                admin_username=None).county
            with tenant_context(county):
                d01 = do_create_unit("D01", "一号局", "department", actor="tests")
                t01 = do_create_unit("T01", "一号镇", "township", actor="tests")
                WebhookTarget.objects.create(name="督查群", kind="wecom", url=receiver.url)
                people = {name: do_create_user(name, actor="tests", role=role, password=PASSWORD, unit=unit,
                                               phone="13800000000")
                          for name, role, unit in [("m_leader", Role.COUNTY_LEADER, None),
                                                   ("m_office", Role.OFFICE_LEADER, None),
                                                   ("staff", Role.SUPERVISION_STAFF, None),
                                                   ("clerk", Role.UNIT_STAFF, d01), ("clerk1", Role.UNIT_STAFF, t01),
                                                   ("m_other", Role.UNIT_STAFF, t01)]}
                cast = Cast(*people.values())
                for _ in range(8):  # each assignment tells clerk (D01) and clerk1, m_other (T01)
                    to_state(cast, "assigned")
            return county

        # The deliveries are enqueued (after commit) to this test's own queue, where no worker is yet.
        default_queue = app.conf.task_default_queue
        app.conf.task_default_queue = queue
        try:
            county = in_thread(setup)
            schema = county.schema_name
            expected = webhook_deliveries(schema)
            assert len(expected) == 24 and {s for _, s, _ in expected.values()} == {"pending"}

            first = OutboxWorker(tmp_path / "first.log", name="outbox1", concurrency=2, queue=queue).start()
            # Kill the whole worker group while deliveries are in flight (the receiver is slow).
            assert wait_until(lambda: len(receiver.received) >= 3, timeout=60), first.log()[-3000:]
            first.kill_group()
            in_flight = len(receiver.received)
            pending_after_kill = sum(1 for _, s, _ in webhook_deliveries(schema).values() if s == "pending")
            assert pending_after_kill > 0, "the kill came too late to test anything"

            second = OutboxWorker(tmp_path / "second.log", name="outbox2", concurrency=2, queue=queue).start()
            try:
                # The periodic re-drive (what beat runs every DUBAN_OUTBOX_REDRIVE_SECONDS), now.
                def redrive():
                    from django.utils import timezone

                    from duban.notifications.tasks import redrive as run
                    with tenant_context(county):
                        return run(now=timezone.now() + timezone.timedelta(hours=1))

                # As beat does, every few seconds until nothing is pending (a row still locked by the
                # killed worker's session is skipped until PostgreSQL has ended that session).
                redrives = []

                def all_sent():
                    if all(s == "sent" for _, s, _ in webhook_deliveries(schema).values()):
                        return True
                    redrives.append(in_thread(redrive))
                    return False

                done = wait_until(all_sent, timeout=120, interval=3)
                assert done, (webhook_deliveries(schema), second.log()[-3000:])
            finally:
                second.stop()
        finally:
            app.conf.task_default_queue = default_queue

        final = webhook_deliveries(schema)
        keys = {key for key, _, _ in final.values()}
        received = receiver.keys()
        lost = keys - set(receiver.accepted)
        assert not lost, f"never delivered: {lost}"
        assert set(receiver.accepted) == keys  # nothing but ours, each accepted once by key
        assert successful_attempts(schema) == {pk: 1 for pk in final}  # each delivery succeeded once
        repeats = len(received) - len(set(received))
        LINES.append(f"outbox kill drill: {len(final)} deliveries, worker killed with {in_flight} request(s) sent and "
                     f"{pending_after_kill} pending; after restart + {len(redrives)} re-drive(s): "
                     f"delivered {len(keys - lost)}, lost "
                     f"{len(lost)}, successful twice 0, transport repeats {repeats} (same key, deduplicated)")
