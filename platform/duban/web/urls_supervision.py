"""Supervision pages: steps, scores and statements, the ledger, circulars, the weekly report,
documents, the rule pack and the inbox. The paths are a contract (the browser tests and the
notifications' links use them); reverse by name in the ``supervision`` namespace."""

from django.urls import path, re_path

from duban.web import (
    views_circulars,
    views_documents,
    views_inspection,
    views_ledger,
    views_notifications,
    views_reports,
    views_rulepack,
    views_scores,
    views_steps,
)

app_name = "supervision"

urlpatterns = [
    # escalation steps (督办措施)
    path("steps/", views_steps.step_list, name="step_list"),
    path("steps/<int:step_id>/", views_steps.step_detail, name="step_detail"),
    path("steps/<int:step_id>/record/", views_steps.step_record, name="step_record"),
    path("steps/<int:step_id>/skip/", views_steps.step_skip, name="step_skip"),
    path("steps/<int:step_id>/withdraw/", views_steps.step_withdraw, name="step_withdraw"),
    path("steps/new/<int:matter_id>/", views_steps.step_start, name="step_start"),
    path("steps/<int:step_id>/reply/", views_steps.step_reply, name="step_reply"),
    path("steps/<int:step_id>/notice/", views_steps.step_notice, name="step_notice"),
    # scores (评分), statements and the ledger (扣分台账)
    path("scores/", views_scores.scores, name="scores"),
    re_path(r"^scores/annual\.(?P<fmt>xlsx|pdf)$", views_scores.annual_table, name="annual_table"),
    path("scores/<str:code>/", views_scores.statement, name="statement"),
    path("ledger/", views_ledger.ledger_list, name="ledger"),
    path("ledger/<int:entry_id>/reverse/", views_ledger.ledger_reverse, name="ledger_reverse"),
    # circulars (通报)
    path("inspections/", views_inspection.inspection_list, name="inspection_list"),
    path("inspections/<int:round_id>/", views_inspection.inspection_detail, name="inspection_detail"),
    path("circulars/", views_circulars.circular_list, name="circular_list"),
    path("circulars/new/", views_circulars.circular_new, name="circular_new"),
    path("circulars/<int:circular_id>/", views_circulars.circular_detail, name="circular_detail"),
    path("circulars/<int:circular_id>/lists/", views_circulars.circular_lists, name="circular_lists"),
    path("circulars/<int:circular_id>/publish/", views_circulars.circular_publish, name="circular_publish"),
    path("circulars/<int:circular_id>/document/", views_circulars.circular_document, name="circular_document"),
    # the weekly 督查专报
    path("reports/weekly/", views_reports.weekly_list, name="weekly_list"),
    path("reports/weekly/draft/", views_reports.weekly_draft, name="weekly_draft"),
    path("reports/weekly/<int:report_id>/", views_reports.weekly_detail, name="weekly_detail"),
    path("reports/weekly/<int:report_id>/submit/", views_reports.weekly_submit, name="weekly_submit"),
    path("reports/weekly/<int:report_id>/return/", views_reports.weekly_return, name="weekly_return"),
    path("reports/weekly/<int:report_id>/issue/", views_reports.weekly_issue, name="weekly_issue"),
    path("reports/weekly/<int:report_id>/preview.pdf", views_reports.weekly_preview, name="weekly_preview"),
    # documents (公文)
    path("documents/", views_documents.document_list, name="document_list"),
    path("documents/<int:document_id>/", views_documents.document_detail, name="document_detail"),
    path("documents/<int:document_id>/download/", views_documents.document_file, name="document_download"),
    # the county's rule pack in plain words
    path("rulepack/", views_rulepack.rulepack, name="rulepack"),
    # my inbox (通知) and preferences
    path("notifications/", views_notifications.notification_list, name="notification_list"),
    path("notifications/read/", views_notifications.notification_read, name="notification_read"),
    path("notifications/<int:notification_id>/open/", views_notifications.notification_open, name="notification_open"),
    path("notifications/preferences/", views_notifications.notification_preferences, name="notification_preferences"),
]
