"""Supervision pages: steps, scores and statements, the ledger, circulars, the weekly report,
documents, the rule pack and the inbox. The paths are a contract (the browser tests and the
notifications' links use them); reverse by name in the ``supervision`` namespace."""

from django.urls import path, re_path

from duban.web import views_supervision as views

app_name = "supervision"

urlpatterns = [
    # escalation steps (督办措施)
    path("steps/", views.step_list, name="step_list"),
    path("steps/<int:step_id>/", views.step_detail, name="step_detail"),
    path("steps/<int:step_id>/record/", views.step_record, name="step_record"),
    path("steps/<int:step_id>/skip/", views.step_skip, name="step_skip"),
    path("steps/<int:step_id>/reply/", views.step_reply, name="step_reply"),
    path("steps/<int:step_id>/notice/", views.step_notice, name="step_notice"),
    # scores (评分), statements and the ledger (扣分台账)
    path("scores/", views.scores, name="scores"),
    re_path(r"^scores/annual\.(?P<fmt>xlsx|pdf)$", views.annual_table, name="annual_table"),
    path("scores/<str:code>/", views.statement, name="statement"),
    path("ledger/", views.ledger_list, name="ledger"),
    path("ledger/<int:entry_id>/reverse/", views.ledger_reverse, name="ledger_reverse"),
    # circulars (通报)
    path("inspections/", views.inspection_list, name="inspection_list"),
    path("inspections/<int:round_id>/", views.inspection_detail, name="inspection_detail"),
    path("circulars/", views.circular_list, name="circular_list"),
    path("circulars/new/", views.circular_new, name="circular_new"),
    path("circulars/<int:circular_id>/", views.circular_detail, name="circular_detail"),
    path("circulars/<int:circular_id>/lists/", views.circular_lists, name="circular_lists"),
    path("circulars/<int:circular_id>/publish/", views.circular_publish, name="circular_publish"),
    path("circulars/<int:circular_id>/document/", views.circular_document, name="circular_document"),
    # the weekly 督查专报
    path("reports/weekly/", views.weekly_list, name="weekly_list"),
    path("reports/weekly/draft/", views.weekly_draft, name="weekly_draft"),
    path("reports/weekly/<int:report_id>/", views.weekly_detail, name="weekly_detail"),
    path("reports/weekly/<int:report_id>/submit/", views.weekly_submit, name="weekly_submit"),
    path("reports/weekly/<int:report_id>/return/", views.weekly_return, name="weekly_return"),
    path("reports/weekly/<int:report_id>/issue/", views.weekly_issue, name="weekly_issue"),
    path("reports/weekly/<int:report_id>/preview.pdf", views.weekly_preview, name="weekly_preview"),
    # documents (公文)
    path("documents/", views.document_list, name="document_list"),
    path("documents/<int:document_id>/", views.document_detail, name="document_detail"),
    path("documents/<int:document_id>/download/", views.document_file, name="document_download"),
    # the county's rule pack in plain words
    path("rulepack/", views.rulepack, name="rulepack"),
    # my inbox (通知) and preferences
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/read/", views.notification_read, name="notification_read"),
    path("notifications/<int:notification_id>/open/", views.notification_open, name="notification_open"),
    path("notifications/preferences/", views.notification_preferences, name="notification_preferences"),
]
