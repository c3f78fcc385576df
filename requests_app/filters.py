"""Service request list filters."""

from __future__ import annotations

import django_filters

from firelater.filters import IsoDateTimeFilter
from firelater.models import Priority
from requests_app.models import Request


class RequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Request.Status.choices)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    due_after = IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")

    class Meta:
        model = Request
        fields = ["status", "priority", "requester"]
