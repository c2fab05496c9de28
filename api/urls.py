"""/api/v1/ on a county's host. Every route here is in the isolation matrix
(tests/test_api_isolation.py); a new one without an entry there fails the suite."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from api import docs, documents, imports, matters, notifications, org, supervision

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("me", org.MeViewSet, basename="me")
router.register("units", org.UnitViewSet, basename="unit")
router.register("users", org.UserViewSet, basename="user")
router.register("rulepack", org.RulePackViewSet, basename="rulepack")
router.register("rounds", matters.RoundViewSet, basename="round")
router.register("matters", matters.MatterViewSet, basename="matter")
router.register("change-requests", matters.ChangeRequestViewSet, basename="change-request")
router.register("steps", supervision.StepViewSet, basename="step")
router.register("ledger", supervision.LedgerViewSet, basename="ledger")
router.register("scores", supervision.ScoreViewSet, basename="score")
router.register("circulars", supervision.CircularViewSet, basename="circular")
router.register("inspection-rounds", supervision.InspectionRoundViewSet, basename="inspection-round")
router.register("inspection-items", supervision.InspectionItemViewSet, basename="inspection-item")
router.register("documents", documents.DocumentViewSet, basename="document")
router.register("weekly-reports", documents.WeeklyReportViewSet, basename="weekly-report")
router.register("imports", imports.ImportViewSet, basename="import")
router.register("notifications", notifications.NotificationViewSet, basename="notification")
router.register("notification-preferences", notifications.PreferenceViewSet, basename="notification-preference")

app_name = "api"
urlpatterns = [
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.swagger_view("api:schema"), name="swagger"),
    path("redoc/", docs.redoc_view("api:schema"), name="redoc"),
    *router.urls,
]
