from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "duban.reports"
    label = "reports"
    verbose_name = _("督查专报")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from duban.reports.documents import register_documents  # noqa: PLC0415 — Django's app loading: models first

        register_documents()
