from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "duban.web"
    label = "web"
    verbose_name = "网页界面"

    def ready(self):
        # The login signal that marks a session as owing its one-time password.
        # The admin site's login is slowed down like ours (duban.web.slowdown); imported here
        # because forms need the app registry ready.
        from django.contrib import admin

        from duban.web import middleware  # noqa: F401
        from duban.web.views_auth import AdminLoginForm

        admin.site.login_form = AdminLoginForm
