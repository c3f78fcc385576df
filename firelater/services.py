"""Helpers shared by the apps' write services."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from firelater.models import Ticket


def apply_changes(instance: models.Model, data: dict[str, Any]) -> set[str]:
    """Set the given fields on the instance; return the names whose value really changed."""
    changed: set[str] = set()
    for field, value in data.items():
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.add(field)
    return changed


def ticket_save_changes(ticket: Ticket, data: dict[str, Any]) -> Ticket:
    """Apply `data`, keep the done timestamp in step with the status, validate, save."""
    changed = apply_changes(ticket, data)
    if "status" in changed and ticket.sync_done_at():
        changed.add(ticket.DONE_FIELD)
    if changed:
        ticket.full_clean(exclude=["number"])
        ticket.save(update_fields=changed)
    return ticket


def ticket_bulk_set_status(queryset: QuerySet[Any], status: str) -> int:
    """Set many tickets' status in one UPDATE, keeping their done timestamps consistent."""
    return queryset.update(**queryset.model.bulk_status_update(status, timezone.now()))
