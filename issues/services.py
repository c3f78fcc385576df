"""Writes for issues: create, update, status changes (single and bulk), delete."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from firelater.services import apply_changes
from issues.models import SLA_BY_PRIORITY, Issue


@transaction.atomic
def issue_create(*, reporter: AbstractBaseUser, title: str, **fields: Any) -> Issue:
    now = timezone.now()
    issue = Issue(reporter=reporter, title=title, created_at=now, updated_at=now, **fields)
    if issue.sla_due_at is None:
        issue.sla_due_at = now + SLA_BY_PRIORITY[issue.priority]
    if issue.status in Issue.DONE_STATUSES and issue.resolved_at is None:
        issue.resolved_at = now
    issue.full_clean(exclude=["number"])
    issue.save()
    return issue


def issue_sync_resolved_at(*, issue: Issue) -> bool:
    """Stamp resolved_at when the status is done, clear it when reopened; True if it changed.

    The one rule for every single-issue write path: the API (issue_update) and the admin form.
    """
    if issue.status in Issue.DONE_STATUSES and issue.resolved_at is None:
        issue.resolved_at = timezone.now()
        return True
    if issue.status not in Issue.DONE_STATUSES and issue.resolved_at is not None:
        issue.resolved_at = None  # reopened
        return True
    return False


@transaction.atomic
def issue_update(*, issue: Issue, data: dict[str, Any]) -> Issue:
    changed = apply_changes(issue, data)
    if "status" in changed and issue_sync_resolved_at(issue=issue):
        changed.add("resolved_at")
    if changed:
        issue.full_clean(exclude=["number"])
        issue.save(update_fields=changed)
    return issue


@transaction.atomic
def issue_bulk_set_status(*, queryset: QuerySet[Issue], status: str) -> int:
    """Set many issues' status in one UPDATE, keeping resolved_at consistent."""
    now = timezone.now()
    if status in Issue.DONE_STATUSES:
        resolved_at: Any = Case(
            When(resolved_at__isnull=True, then=Value(now)), default=F("resolved_at")
        )
    else:
        resolved_at = None
    return queryset.update(status=status, resolved_at=resolved_at, updated_at=now)


@transaction.atomic
def issue_delete(*, issue: Issue) -> None:
    issue.delete()
