"""Helpers shared by the apps' write services."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from firelater.models import Ticket

M = TypeVar("M", bound=models.Model)


def apply_changes(instance: models.Model, data: dict[str, Any]) -> set[str]:
    """Set the given fields on the instance; return the names whose value really changed."""
    changed: set[str] = set()
    for field, value in data.items():
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.add(field)
    return changed


def save_changes(instance: M, data: dict[str, Any]) -> M:
    """Apply `data`, validate and save only the fields that really changed.

    A ticket also keeps its done timestamp in step with its status.
    """
    changed = apply_changes(instance, data)
    if isinstance(instance, Ticket) and "status" in changed and instance.sync_done_at():
        changed.add(instance.DONE_FIELD)
    if changed:
        instance.full_clean(exclude=["number"] if hasattr(instance, "number") else None)
        instance.save(update_fields=changed)
    return instance


def ticket_bulk_set_status(queryset: QuerySet[Any], status: str) -> int:
    """Set many tickets' status in one UPDATE, keeping their done timestamps consistent."""
    return queryset.update(**queryset.model.bulk_status_update(status, timezone.now()))
