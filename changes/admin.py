"""Change admin."""

from __future__ import annotations

from django.contrib import admin

from changes.models import Change
from changes.services import change_bulk_set_status
from firelater.admin import RecordAdmin, status_actions


@admin.register(Change)
class ChangeAdmin(RecordAdmin):
    list_display = [
        "display_number",
        "title",
        "status",
        "risk",
        "type",
        "application",
        "scheduled_start",
        "scheduled_end",
    ]
    list_filter = ["status", "risk", "type", "application"]
    search_fields = ["title", "description", "=number"]
    date_hierarchy = "scheduled_start"
    list_select_related = ["application"]
    readonly_fields = ["display_number", "created_at", "updated_at"]
    list_per_page = 50
    show_full_result_count = False
    actions = status_actions(Change.Status, change_bulk_set_status)
