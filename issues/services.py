"""Writes for issues: create, update, status changes (single and bulk), delete."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from firelater.services import save_changes, ticket_bulk_set_status
from issues.models import Issue


@transaction.atomic
def issue_create(*, reporter: AbstractBaseUser, title: str, **fields: Any) -> Issue:
    now = timezone.now()
    issue = Issue(reporter=reporter, title=title, created_at=now, updated_at=now, **fields)
    if issue.sla_due_at is None:
        issue.sla_due_at = Issue.sla_due(issue.priority, now)
    issue.sync_done_at(now)
    issue.full_clean(exclude=["number"])
    issue.save()
    return issue


@transaction.atomic
def issue_update(*, issue: Issue, data: dict[str, Any]) -> Issue:
    return save_changes(issue, data)


@transaction.atomic
def issue_bulk_set_status(*, queryset: QuerySet[Issue], status: str) -> int:
    """Set many issues' status in one UPDATE, keeping resolved_at consistent."""
    return ticket_bulk_set_status(queryset, status)


@transaction.atomic
def issue_delete(*, issue: Issue) -> None:
    issue.delete()
