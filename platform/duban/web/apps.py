from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "duban.web"
    label = "web"
    verbose_name = "网页界面"

    def ready(self):
        # The login signal that marks a session as owing its one-time password.
        # The admin site's login is slowed down like ours (duban.web.slowdown); imported here
        # because forms need the app registry ready.
        from django.contrib import admin  # noqa: PLC0415 — the admin needs the app registry ready

        from duban.web import middleware  # noqa: F401, PLC0415 — its signal receiver, once apps are ready
        from duban.web.views_auth import AdminLoginForm  # noqa: PLC0415 — forms need the app registry ready

        admin.site.login_form = AdminLoginForm
