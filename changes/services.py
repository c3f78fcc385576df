"""Writes for changes: create, update, status changes (single and bulk), delete."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from changes.models import Change
from firelater.services import apply_changes


@transaction.atomic
def change_create(*, title: str, **fields: Any) -> Change:
    now = timezone.now()
    change = Change(title=title, created_at=now, updated_at=now, **fields)
    change.full_clean(exclude=["number"])
    change.save()
    return change


@transaction.atomic
def change_update(*, change: Change, data: dict[str, Any]) -> Change:
    changed = apply_changes(change, data)
    if changed:
        change.full_clean(exclude=["number"])
        change.save(update_fields=changed)
    return change


@transaction.atomic
def change_bulk_set_status(*, queryset: QuerySet[Change], status: str) -> int:
    return queryset.update(status=status, updated_at=timezone.now())


@transaction.atomic
def change_delete(*, change: Change) -> None:
    change.delete()
