"""Change admin: approving, rejecting and scheduling are the change manager's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from changes.approval import APPROVAL_STATUSES, APPROVE_PERMISSION, may_write
from changes.models import Change
from changes.services import change_bulk_set_status
from firelater.admin import RecordAdmin, status_actions


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
    actions = status_actions(
        Change.Status,
        change_bulk_set_status,
        gated=dict.fromkeys(APPROVAL_STATUSES, "approve"),
    )

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(APPROVE_PERMISSION)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class ApprovalCheckedForm(form):  # type: ignore[misc, valid-type]
            def clean(self) -> Any:
                data = super().clean()
                changed = {name: data[name] for name in self.changed_data if name in data}
                reason = may_write(user=user, change=obj, data=changed)
                if reason is not None:
                    raise forms.ValidationError(f"{reason} Your role may not.")
                return data

        return ApprovalCheckedForm


admin.site.register(Change, ChangeAdmin)
