from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Management commands only (`seed_demo`): no models, no migrations."""

    name = "duban.demo"
    label = "demo"
    verbose_name = "演示数据"
