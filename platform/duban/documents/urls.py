"""``/verify/<code>/`` on a county's host (included by ``duban.urls``)."""

from django.urls import path

from duban.documents import views

urlpatterns = [path("", views.verify, name="verify_document")]
