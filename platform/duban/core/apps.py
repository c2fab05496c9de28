from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "duban.core"
    label = "core"
    verbose_name = _("平台")

    def ready(self) -> None:
        # Make the Celery app current so that shared tasks send through it.
        import duban.celery  # noqa: F401, PLC0415 — the Celery app and its tasks load once the apps are ready
