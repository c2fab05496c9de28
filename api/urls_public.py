"""/api/v1/ on the public host. Every route is in the isolation matrix too."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from api import docs, public

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("me", public.PublicMeViewSet, basename="me")
router.register("cities", public.CityViewSet, basename="city")
router.register("counties", public.CountiesViewSet, basename="county")
router.register("comparison", public.ComparisonViewSet, basename="comparison")

app_name = "public_api"
urlpatterns = [
    path("schema/", docs.SchemaView.as_view(urlconf="api.urls_public_root", api_version="public-1.0.0",
                                               custom_settings={
        "TITLE": "Duban platform API",
        "DESCRIPTION": ("The platform's API on the public host: cities, counties and the city comparison. "
                        "Platform operators see every "
                        "city; a city user sees their own city and its counties' aggregates. Tokens of county users "
                        "are not valid here.")}),
         name="schema"),
    path("docs/", docs.swagger_view("public_api:schema"), name="swagger"),
    path("redoc/", docs.redoc_view("public_api:schema"), name="redoc"),
    *router.urls,
]
