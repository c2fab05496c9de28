from django.contrib import admin

from duban.accounts.admin import ActionsAdmin
from duban.notifications.actions import (
    QUIET_FIELDS,
    do_delete_webhook_target,
    do_save_webhook_target,
    do_set_reach_settings,
)
from duban.notifications.models import ReachSettings, WebhookTarget


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


@admin.register(ReachSettings)
class ReachSettingsAdmin(ActionsAdmin):
    """People's ids in the county's WeCom and DingTalk and their quiet hours, for the county admin
    who fills them in for others (each person can also set their own, on 通知设置). Saved through
    the audited action."""

    list_display = ("user", "wecom_userid", "dingtalk_userid", "quiet_enabled", "quiet_start", "quiet_end")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__full_name", "wecom_userid", "dingtalk_userid")
    fields = ("user", *QUIET_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        return ("user",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        saved = do_set_reach_settings(obj.user, actor=request.user,
                                      **{name: form.cleaned_data[name] for name in QUIET_FIELDS if name in form.cleaned_data})
        obj.pk, obj.updated_at = saved.pk, saved.updated_at  # the admin's messages and redirect name the saved row

    def has_delete_permission(self, request, obj=None):
        return False
