"""Admin helpers shared by the record apps: bulk status actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

BulkSetStatus = Callable[..., int]


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
