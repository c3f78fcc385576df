"""Reads of issues."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from issues.models import Issue


def issue_list(*, user: Any) -> QuerySet[Issue]:
    """The issues `user` may see: every one for whoever may work them (agents and above,
    `issues.change_issue`), otherwise only those they reported (requesters)."""
    issues = Issue.objects.select_related("reporter", "application")
    if user is None or not user.is_authenticated:  # the API schema's generation
        return issues.none()
    if user.has_perm("issues.change_issue"):
        return issues
    return issues.filter(reporter=user)
