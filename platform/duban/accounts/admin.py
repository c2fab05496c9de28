from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from duban.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "role", "unit", "is_active", "last_login")
    list_filter = ("role", "is_active", "unit")
    search_fields = ("username", "full_name", "phone")
    fieldsets = BaseUserAdmin.fieldsets + (("督办", {"fields": ("full_name", "phone", "role", "unit")}),)
