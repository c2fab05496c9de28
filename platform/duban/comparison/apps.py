from django.apps import AppConfig
from django.db.models.signals import post_save


class ComparisonConfig(AppConfig):
    name = "duban.comparison"
    label = "comparison"
    verbose_name = "市级对比"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Incremental refresh: a write to a matter, a ledger entry or a ladder step in a county
        # schedules (on commit, debounced) one snapshot refresh of that county.
        from duban.comparison import signals  # noqa: PLC0415 — it imports models: only once the apps are loaded

        for model in ("matters.Matter", "supervision.LedgerEntry", "supervision.EscalationStep"):
            post_save.connect(signals.county_data_changed, sender=model,
                              dispatch_uid=f"comparison.refresh.{model.lower()}")
