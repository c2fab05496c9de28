"""The county's admin site for users, API tokens and authenticator devices.

It shows no secret: an API token by its prefix only (the key is shown once, when issued, and
stored hashed), an authenticator device without its key or QR code. Roles, units and admin
rights are read-only here: they change through the app's audited action (``do_change_role``,
``POST /api/v1/users/<id>/role/``); users are added through the app (``do_create_user``).
"""

from contextvars import ContextVar

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp import admin as otp_totp_admin  # registers TOTPDevice first; replaced below
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.accounts.actions import (
    ADMIN_EDITABLE_FIELDS,
    do_remove_otp_devices,
    do_revoke_token,
    do_set_password,
    do_update_user,
)
from duban.accounts.models import ApiToken, User
from duban.core.actions import action_scope

PRIVILEGE_FIELDS = ("role", "unit", "is_staff", "is_superuser", "groups", "user_permissions")


_ADMIN_ACTOR: ContextVar = ContextVar("duban_admin_actor")


class ActionsAdmin(admin.ModelAdmin):
    """A model admin whose saves and deletions go through actions (``duban.core.actions``).

    Django runs a form's POST in ``transaction.atomic()``, inside which an action refuses to
    start its durable transaction; here the POST is an :func:`action_scope` instead, so the
    actions the admin calls join it and the page's writes stay one transaction."""

    def add_view(self, request, form_url="", extra_context=None):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().add_view(request, form_url, extra_context)
        with action_scope():  # Django's UserAdmin opens its own transaction.atomic() here
            return super().add_view(request, form_url, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().changeform_view(request, object_id, form_url, extra_context)
        with action_scope():
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().delete_view(request, object_id, extra_context)
        with action_scope():
            return super().delete_view(request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().changelist_view(request, extra_context)
        with action_scope():  # list actions ("delete selected", "revoke") and list_editable saves
            return super().changelist_view(request, extra_context)


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """The admin site's password form, saving through do_set_password (audited, without the password)."""

    def save(self, commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data["password1"] if usable else None
        return do_set_password(self.user, actor=_ADMIN_ACTOR.get(), password=password)


@admin.register(User)
class UserAdmin(ActionsAdmin, BaseUserAdmin):
    list_display = ("username", "full_name", "role", "unit", "is_active", "last_login")
    list_filter = ("role", "is_active", "unit")
    search_fields = ("username", "full_name", "phone")
    fieldsets = BaseUserAdmin.fieldsets + (("督办", {"fields": ("full_name", "phone", "role", "unit")}),)
    readonly_fields = (*PRIVILEGE_FIELDS, "last_login", "date_joined")
    change_password_form = AuditedPasswordChangeForm

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # Through the audited action: what the form may change (the privileges are read-only).
        changes = {field: form.cleaned_data[field]
                   for field in form.changed_data if field in ADMIN_EDITABLE_FIELDS}
        stored = type(obj).objects.get(pk=obj.pk)
        for field in changes:
            setattr(obj, field, getattr(stored, field))
        do_update_user(obj, actor=request.user, changes=changes)

    def user_change_password(self, request, id, form_url=""):
        # Django's view saves the form itself; the form saves through the audited action, which
        # needs to know who acts: the request's user, for the length of this view.
        token = _ADMIN_ACTOR.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _ADMIN_ACTOR.reset(token)


@admin.register(ApiToken)
class ApiTokenAdmin(ActionsAdmin):
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


class TOTPDeviceAdmin(ActionsAdmin, otp_totp_admin.TOTPDeviceAdmin):
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
