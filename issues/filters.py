"""Issue list filters (query parameters)."""

from __future__ import annotations

import django_filters

from firelater.filters import IsoDateTimeFilter
from firelater.models import Priority
from issues.models import Issue


class IssueFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Issue.Status.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    is_open = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_is_open"
    )
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    resolved_after = IsoDateTimeFilter(field_name="resolved_at", lookup_expr="gte")
    resolved_before = IsoDateTimeFilter(field_name="resolved_at", lookup_expr="lt")

    class Meta:
        model = Issue
        fields = ["status", "priority", "application", "assignee", "reporter"]

    def filter_is_open(self, queryset, name, value):  # type: ignore[no-untyped-def]
        if value == "true":
            return queryset.filter(status__in=Issue.OPEN_STATUSES)
        return queryset.exclude(status__in=Issue.OPEN_STATUSES)
