from django.contrib import admin

from duban.units.models import Unit


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "contact_person", "contact_phone", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "contact_person")
