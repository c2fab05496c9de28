"""The public API alone, mounted as on the public host — what its OpenAPI schema describes."""

from django.urls import include, path

urlpatterns = [path("api/v1/", include("api.urls_public"))]
