"""The Celery app, built on tenant-schemas-celery so that the county travels with every message.

Task bases (see ``duban.tasks``): ``CountyTask`` runs in the schema of the county it was sent
for and refuses to run anywhere else; ``PlatformTask`` runs in the public schema only.
"""

from __future__ import annotations

from pathlib import Path

from duban.settings import configure

configure()

from django.conf import settings  # noqa: E402
from tenant_schemas_celery.app import CeleryApp  # noqa: E402


def broker_transport_options(broker_url: str) -> dict:
    if broker_url.startswith("filesystem://"):
        root = Path(settings.CELERY_BROKER_DIR)
        folders = {"data_folder_in": root / "queue", "data_folder_out": root / "queue",
                   "processed_folder": root / "processed", "control_folder": root / "control"}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        options = {key: str(value) for key, value in folders.items()}
        options["store_processed"] = False
        # kombu polls the folder once a second by default: with acks_late and a prefetch of one,
        # that is about one message a second (a demo's burst of notifications took minutes).
        options["polling_interval"] = 0.1
        return options
    if broker_url.startswith(("redis://", "rediss://")):
        # Unacknowledged messages come back after this long (acks_late + a killed worker).
        return {"visibility_timeout": 3600}
    return {}


class DubanCelery(CeleryApp):
    task_cls = "duban.tasks:CountyTask"


app = DubanCelery("duban")
app.conf.update(
    broker_url=settings.CELERY_BROKER_URL,
    broker_transport_options=broker_transport_options(settings.CELERY_BROKER_URL),
    broker_connection_retry_on_startup=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_acks_on_failure_or_timeout=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    timezone=settings.CELERY_TIMEZONE,
    enable_utc=True,
    task_default_queue=settings.CELERY_TASK_QUEUE,
    worker_hijack_root_logger=False,
    # Counties rarely change: keep a looked-up tenant for a minute in each worker.
    task_tenant_cache_seconds=60,
    beat_schedule={
        "heartbeat-fan-out": {
            "task": "duban.ops.fan_out_heartbeats",
            "schedule": float(settings.DUBAN_HEARTBEAT_SECONDS),
        },
        "supervision-sweep-fan-out": {
            "task": "duban.supervision.fan_out_sweep",
            "schedule": float(settings.DUBAN_SWEEP_SECONDS),
        },
        "weekly-report-fan-out": {
            "task": "duban.reports.fan_out_weekly_report",
            "schedule": float(settings.DUBAN_REPORT_CHECK_SECONDS),
        },
        "comparison-refresh-fan-out": {
            "task": "duban.comparison.fan_out_refresh",
            "schedule": float(settings.DUBAN_COMPARISON_REFRESH_SECONDS),
        },
        "spare-schemas-refill": {
            "task": "duban.tenants.refill_spares",
            "schedule": float(settings.DUBAN_SPARE_REFILL_SECONDS),
        },
        "outbox-redrive-fan-out": {
            "task": "duban.notifications.fan_out_redrive",
            "schedule": float(settings.DUBAN_OUTBOX_REDRIVE_SECONDS),
        },
    },
)
app.autodiscover_tasks(["duban.ops", "duban.supervision", "duban.notifications", "duban.reports",
                        "duban.comparison", "tenants"])
