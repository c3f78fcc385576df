"""Change admin: the workflow's rules on the form; approving, rejecting and scheduling are
the change manager's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from changes import workflow
from changes.approval import APPROVAL_STATUSES, APPROVE_PERMISSION, may_write
from changes.models import Change
from changes.services import change_bulk_set_status
from firelater.admin import RecordAdmin, status_actions


class ChangeAdminForm(forms.ModelForm):
    """The workflow's rules on the admin form: an illegal transition or an outcome that
    does not fit the status is a form error (the same rules as the API)."""

    class Meta:
        model = Change
        fields = "__all__"  # noqa: DJ007  # the admin's fieldsets choose

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        status = data.get("status")
        if status is None:
            return data
        old_status = self.instance.status if self.instance.pk else None
        old_outcome = self.instance.outcome if self.instance.pk else None
        given = data.get("outcome") or None
        if given == old_outcome:
            given = None  # the form shows the old outcome: not a new choice
        try:
            if old_status is not None:
                workflow.check_transition(old_status, status)
            data["outcome"] = workflow.outcome_for(status, old_outcome, given)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return data


class ChangeAdmin(RecordAdmin):
    form = ChangeAdminForm
    list_display = [
        "display_number",
        "title",
        "status",
        "risk",
        "type",
        "application",
        "scheduled_start",
        "scheduled_end",
        "outcome",
    ]
    list_filter = ["status", "outcome", "risk", "type", "application"]
    search_fields = ["title", "description", "=number"]
    date_hierarchy = "scheduled_start"
    list_select_related = ["application"]
    readonly_fields = ["display_number", "created_at", "updated_at", "completed_at"]
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

    def save_model(self, request: HttpRequest, obj: Change, form: Any, change: bool) -> None:
        # completed_at is read-only in the form: stamped when the outcome is recorded.
        loaded = getattr(obj, "_loaded_values", None) or {}
        if obj.outcome is None:
            obj.completed_at = None
        elif obj.outcome != loaded.get("outcome") or obj.completed_at is None:
            obj.completed_at = timezone.now()
        super().save_model(request, obj, form, change)


admin.site.register(Change, ChangeAdmin)
