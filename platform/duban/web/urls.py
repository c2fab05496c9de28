"""The county host's web pages. Each area has its own module (one owner per file)."""

from django.urls import include, path

urlpatterns = [
    path("", include("duban.web.urls_auth")),       # login, logout, OTP, role home at /
    path("", include("duban.web.urls_matters")),    # to-do, board, register, plan, matters
    path("", include("duban.web.urls_supervision")),  # steps, scores, circulars, reports, documents, rulepack, inbox
    path("", include("duban.web.urls_reach")),       # channel accounts (county admin), the notices' short links
]
