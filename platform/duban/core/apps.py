from celery.signals import task_postrun
from django.apps import AppConfig
from django.core.signals import request_finished
from django.utils.translation import gettext_lazy as _

from duban.core import connections


class CoreConfig(AppConfig):
    name = "duban.core"
    label = "core"
    verbose_name = _("平台")

    def ready(self) -> None:
        # Make the Celery app current so that shared tasks send through it.
        import duban.celery  # noqa: F401, PLC0415 — the Celery app and its tasks load once the apps are ready

        # A connection that has served too many county schemas ends with its request or task.
        request_finished.connect(connections.release_if_spread, dispatch_uid="duban.release_if_spread")
        task_postrun.connect(connections.release_if_spread, dispatch_uid="duban.release_if_spread", weak=False)
