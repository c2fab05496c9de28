"""URLs of a county's host (``<slug>.<base domain>``)."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from duban.ops import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("verify/<str:code>/", include("duban.documents.urls")),
    path("", include("duban.web.urls")),
]

# The house's error pages (duban.web.shortcuts): Chinese, in the site's layout; 500 without the database.
handler403 = "duban.web.shortcuts.forbidden"
handler404 = "duban.web.shortcuts.not_found"
handler500 = "duban.web.shortcuts.server_error"
