"""Issue list filters (query parameters)."""

from __future__ import annotations

import django_filters

from firelater.filters import RecordFilter, choices_filter, moment_range
from firelater.models import Priority
from issues.models import Issue


class IssueFilter(RecordFilter):
    status = choices_filter(Issue.Status)
    priority = choices_filter(Priority)
    is_open = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_is_open"
    )
    resolved_after, resolved_before = moment_range("resolved_at")

    class Meta:
        model = Issue
        fields = ["status", "priority", "application", "assignee", "reporter"]

    def filter_is_open(self, queryset, name, value):  # type: ignore[no-untyped-def]
        if value == "true":
            return queryset.filter(status__in=Issue.OPEN_STATUSES)
        return queryset.exclude(status__in=Issue.OPEN_STATUSES)
