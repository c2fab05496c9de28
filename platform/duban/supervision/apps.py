from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    name = "duban.supervision"
    label = "supervision"
    verbose_name = _("督查督办")

    def ready(self) -> None:
        from duban.supervision import receivers  # noqa: F401, PLC0415 — connects the receivers once the apps are loaded (Django's ready())
        from duban.supervision.documents import register_documents  # noqa: PLC0415 — Django's app loading: models first

        register_documents()
