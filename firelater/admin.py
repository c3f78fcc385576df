"""Admin helpers shared by the record apps: bulk status actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

BulkSetStatus = Callable[..., int]


class RecordAdmin(admin.ModelAdmin):
    """Admin for numbered records: "ISS-000042" (or "42") in the search box finds #42."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip().upper()
        prefix = f"{self.model.NUMBER_PREFIX}-"
        digits = term.removeprefix(prefix)
        if term.startswith(prefix) and digits.isdigit():
            return queryset.filter(number=int(digits)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Number", ordering="number")
    def display_number(self, obj: Any) -> str:
        return str(obj.display_number)


def status_actions(choices: Any, bulk_set_status: BulkSetStatus) -> list[Callable[..., None]]:
    """One admin action per status ("Mark selected as Resolved"), each a single UPDATE
    through the app's bulk service so derived fields and cache invalidation stay right."""
    actions = []
    for value, label in choices.choices:

        def action(
            modeladmin: admin.ModelAdmin,
            request: HttpRequest,
            queryset: QuerySet[Any],
            _value: str = value,
            _label: str = label,
        ) -> None:
            count = bulk_set_status(queryset=queryset, status=_value)
            modeladmin.message_user(request, f"{count} marked as {_label}.", level=messages.SUCCESS)

        action.__name__ = f"mark_{value}"
        action.short_description = f"Mark selected as {label}"  # type: ignore[attr-defined]
        action.allowed_permissions = ("change",)  # type: ignore[attr-defined]
        actions.append(action)
    return actions
