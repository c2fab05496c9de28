from django.contrib import admin
from django_tenants.utils import get_public_schema_name

from tenants.models import City, County, Domain


class PublicOnlyAdmin(admin.ModelAdmin):
    """Platform models are invisible in a county's admin (its search_path reaches public)."""

    @staticmethod
    def on_public_host(request) -> bool:
        return getattr(getattr(request, "tenant", None), "schema_name", None) == get_public_schema_name()

    def has_module_permission(self, request):
        return self.on_public_host(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.on_public_host(request) and super().has_view_permission(request, obj)

    # Changes go through `duban city|county …`, which validate and audit them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(City)
class CityAdmin(PublicOnlyAdmin):
    list_display = ("code", "name", "created_at")
    search_fields = ("code", "name")


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(County)
class CountyAdmin(PublicOnlyAdmin):
    """Read-only here: counties change through `duban county …`, which audits every change."""

    list_display = ("slug", "name", "city", "rulepack_name", "rulepack_version", "status", "created_at")
    list_filter = ("status", "city", "rulepack_name")
    search_fields = ("slug", "name")
    inlines = [DomainInline]
