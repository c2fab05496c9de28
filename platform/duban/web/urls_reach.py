"""The channels that reach a person: the county admin's 通知渠道 pages and the notices' short links."""

from django.urls import path

from duban.web import views_reach

app_name = "reach"

urlpatterns = [
    path("settings/channels/", views_reach.channel_list, name="channels"),
    path("settings/channels/<slug:provider>/", views_reach.channel_edit, name="channel_edit"),
    path("m/<str:code>", views_reach.phone_link, name="phone_link"),
]
