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
