"""Django admin for county admins: matters are read here; they change only through the workflow
actions (web UI, API, CLI), which validate and audit every step."""

from django.contrib import admin

from duban.core.models import WorkdayOverride
from duban.matters.models import (
    ChangeRequest,
    CollectionRound,
    DeadlineChange,
    Feedback,
    Matter,
    MatterRevision,
    MatterUnit,
    Notice,
    ResultReport,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MatterUnitInline(admin.TabularInline):
    model = MatterUnit
    extra = 0
    can_delete = False
    readonly_fields = ("unit", "role", "received_at", "received_by")

    def has_add_permission(self, request, obj=None):
        return False


class RevisionInline(MatterUnitInline):
    model = MatterRevision
    readonly_fields = ("seq", "title", "requirements", "deadline", "lead_unit", "co_units", "reason", "created_by",
                       "created_at")


class DeadlineInline(MatterUnitInline):
    model = DeadlineChange
    readonly_fields = ("kind", "old_deadline", "new_deadline", "reason", "changed_by", "changed_at")


@admin.register(Matter)
class MatterAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "category", "state", "deadline", "redo_count", "proposed_by")
    list_filter = ("state", "category", "time_sensitive")
    search_fields = ("number", "title", "content", "source_reference")
    date_hierarchy = "proposed_at"
    inlines = [MatterUnitInline, RevisionInline, DeadlineInline]


for model in (CollectionRound, Notice, Feedback, ResultReport, ChangeRequest, WorkdayOverride):
    admin.site.register(model, ReadOnlyAdmin)
