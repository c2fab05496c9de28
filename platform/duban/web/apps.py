from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "duban.web"
    label = "web"
    verbose_name = "网页界面"

    def ready(self):
        # The login signal that marks a session as owing its one-time password.
        from duban.web import middleware  # noqa: F401
