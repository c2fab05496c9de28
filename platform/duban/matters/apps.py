from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MattersConfig(AppConfig):
    name = "duban.matters"
    label = "matters"
    verbose_name = _("督办事项")

    def ready(self) -> None:
        from duban.matters.documents import register_documents  # noqa: PLC0415 — Django's app loading: models first

        register_documents()
