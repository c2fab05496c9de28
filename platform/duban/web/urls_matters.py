"""Matter pages (paths are a contract: other pages link to them)."""

from django.urls import path

from duban.web import views_bulk, views_import, views_matter_detail, views_matters

urlpatterns = [
    path("todo/", views_matters.todo, name="web-todo"),
    path("board/", views_matters.board, name="web-board"),
    path("register/", views_matters.register, name="web-register"),
    path("plan/", views_matters.plan, name="web-plan"),
    path("matters/", views_matters.matter_list, name="web-matters"),
    path("matters/new/", views_matters.matter_new, name="web-matter-new"),
    path("matters/bulk/assign/", views_bulk.bulk_assign, name="web-bulk-assign"),
    path("matters/bulk/urge/", views_bulk.bulk_urge, name="web-bulk-urge"),
    path("import/", views_import.import_upload, name="web-import"),
    path("import/confirm/", views_import.import_confirm, name="web-import-confirm"),
    path("matters/<int:pk>/", views_matter_detail.matter_detail, name="web-matter"),
    path("matters/<int:pk>/attachments/<int:attachment_id>/", views_matter_detail.attachment_download,
         name="web-matter-attachment"),
    path("matters/<int:pk>/notice/", views_matter_detail.assignment_notice, name="web-matter-notice"),
    path("matters/<int:pk>/<slug:action>/", views_matter_detail.matter_action, name="web-matter-action"),
]
