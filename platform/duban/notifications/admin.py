from django.contrib import admin

from duban.accounts.admin import ActionsAdmin
from duban.notifications.actions import do_delete_webhook_target, do_save_webhook_target
from duban.notifications.models import WebhookTarget


@admin.register(WebhookTarget)
class WebhookTargetAdmin(ActionsAdmin):
    """The county's group robots. The form refuses hosts the operator does not allow (the model's
    clean); saving and deleting go through the audited actions."""

    list_display = ("name", "kind", "url", "is_active", "created_at")
    list_filter = ("kind", "is_active")

    def save_model(self, request, obj, form, change):
        do_save_webhook_target(obj, actor=request.user)

    def delete_model(self, request, obj):
        do_delete_webhook_target(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for target in queryset:
            do_delete_webhook_target(target, actor=request.user)
