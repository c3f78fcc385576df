"""Writes for changes: create, update, status changes (single and bulk), delete."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from changes import workflow
from changes.models import Change
from firelater.services import apply_changes


@transaction.atomic
def change_create(*, title: str, **fields: Any) -> Change:
    """A new change, in any status (an import may start it anywhere): its outcome is the
    given one or its end status's default (changes/workflow.py)."""
    now = timezone.now()
    given_outcome = fields.pop("outcome", None)
    fields.pop("completed_at", None)
    change = Change(title=title, created_at=now, updated_at=now, **fields)
    workflow.settle(change, old_status=None, old_outcome=None, given_outcome=given_outcome, now=now)
    change.full_clean(exclude=["number"])
    change.save()
    return change


@transaction.atomic
def change_update(*, change: Change, data: dict[str, Any]) -> Change:
    """Apply `data`; a status change must follow the workflow (TransitionError otherwise)
    and sets the outcome that status records."""
    data = dict(data)
    given_outcome = data.pop("outcome", None)
    data.pop("completed_at", None)
    old_status, old_outcome = change.status, change.outcome
    changed = apply_changes(change, data)
    changed |= workflow.settle(
        change,
        old_status=old_status,
        old_outcome=old_outcome,
        given_outcome=given_outcome,
        now=timezone.now(),
    )
    if changed:
        change.full_clean(exclude=["number"])
        change.save(update_fields=changed)
    return change


@transaction.atomic
def change_bulk_set_status(*, queryset: QuerySet[Change], status: str) -> int:
    """Move the selected changes whose status allows it to `status` in one UPDATE (the
    others are left as they are); returns how many moved."""
    movable = queryset.filter(status__in=workflow.statuses_that_may_become(status))
    return movable.update(**workflow.bulk_status_update(status, timezone.now()))


@transaction.atomic
def change_delete(*, change: Change) -> None:
    change.delete()
