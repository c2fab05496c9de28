from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "duban.reports"
    label = "reports"
    verbose_name = _("督查专报")
    default_auto_field = "django.db.models.BigAutoField"
