from django.contrib import admin

from duban.notifications.models import WebhookTarget


@admin.register(WebhookTarget)
class WebhookTargetAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "url", "is_active", "created_at")
    list_filter = ("kind", "is_active")
