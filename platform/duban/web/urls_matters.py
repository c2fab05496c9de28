"""Matter pages (paths are a contract: other pages link to them)."""

from django.urls import path

from duban.web import views_matters as views

urlpatterns = [
    path("todo/", views.todo, name="web-todo"),
    path("board/", views.board, name="web-board"),
    path("register/", views.register, name="web-register"),
    path("plan/", views.plan, name="web-plan"),
    path("matters/", views.matter_list, name="web-matters"),
    path("matters/new/", views.matter_new, name="web-matter-new"),
    path("matters/<int:pk>/", views.matter_detail, name="web-matter"),
    path("matters/<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="web-matter-attachment"),
    path("matters/<int:pk>/notice/", views.assignment_notice, name="web-matter-notice"),
    path("matters/<int:pk>/<slug:action>/", views.matter_action, name="web-matter-action"),
]
