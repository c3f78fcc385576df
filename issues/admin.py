"""Issue admin: triage-friendly list, filters, search and bulk status changes."""

from __future__ import annotations

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from firelater.admin import RecordAdmin, status_actions
from issues.models import Issue
from issues.services import issue_bulk_set_status


@admin.register(Issue)
class IssueAdmin(RecordAdmin):
    list_display = [
        "display_number",
        "title",
        "status",
        "priority",
        "application",
        "assignee",
        "created_at",
        "sla_due_at",
    ]
    list_filter = [
        "status",
        "priority",
        "application",
        ("assignee", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "description", "=number"]
    date_hierarchy = "created_at"
    list_select_related = ["application", "assignee"]
    raw_id_fields = ["reporter", "assignee"]
    readonly_fields = ["display_number", "created_at", "updated_at", "resolved_at"]
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over 100k rows on every page is wasted work
    actions = status_actions(Issue.Status, issue_bulk_set_status)

    def save_model(self, request: HttpRequest, obj: Issue, form: ModelForm, change: bool) -> None:
        # resolved_at is read-only in the form: keep it in step with the status chosen there.
        obj.sync_done_at()
        if obj.sla_due_at is None:
            obj.sla_due_at = Issue.sla_due(obj.priority, obj.created_at)
        super().save_model(request, obj, form, change)
