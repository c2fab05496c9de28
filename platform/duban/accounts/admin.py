"""The county's admin site for users, API tokens and authenticator devices.

It shows no secret: an API token by its prefix only (the key is shown once, when issued, and
stored hashed), an authenticator device without its key or QR code. Roles, units and admin
rights are read-only here: they change through the app's audited action (``do_change_role``,
``POST /api/v1/users/<id>/role/``); users are added through the app (``do_create_user``).
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext
from django_otp.plugins.otp_totp import admin as otp_totp_admin  # registers TOTPDevice first; replaced below
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.accounts.actions import do_remove_otp_devices, do_revoke_token
from duban.accounts.models import ApiToken, User

PRIVILEGE_FIELDS = ("role", "unit", "is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "unit", "is_active", "last_login")
    list_filter = ("role", "is_active", "unit")
    search_fields = ("username", "full_name", "phone")
    fieldsets = BaseUserAdmin.fieldsets + (("督办", {"fields": ("full_name", "phone", "role", "unit")}),)
    readonly_fields = (*PRIVILEGE_FIELDS, "last_login", "date_joined")

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created", "last_used")
    list_select_related = ("user",)
    search_fields = ("prefix", "user__username", "user__full_name")
    fields = ("user", "prefix", "created", "last_used")
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoking is the audited action below

    @admin.action(description=_("撤销所选 API 令牌"), permissions=["view"])
    def revoke(self, request, queryset):
        count = sum(do_revoke_token(token.user, actor=request.user) for token in queryset.select_related("user"))
        self.message_user(request, gettext("已撤销 %(n)d 个 API 令牌。") % {"n": count}, messages.SUCCESS)


class TOTPDeviceAdmin(otp_totp_admin.TOTPDeviceAdmin):
    """django_otp's admin without the key, the QR code or its config page; read-only but for
    removal (audited), which lets a user who lost their phone sign in again."""

    list_display = ["user", "name", "created_at", "last_used_at", "confirmed"]
    readonly_fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    raw_id_fields = []

    def get_list_display(self, request):
        return self.list_display

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": self.readonly_fields})]

    def get_urls(self):
        return admin.ModelAdmin.get_urls(self)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        do_remove_otp_devices([obj], actor=request.user)

    def delete_queryset(self, request, queryset):
        do_remove_otp_devices(list(queryset.select_related("user")), actor=request.user)


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, TOTPDeviceAdmin)
