"""Change list filters."""

from __future__ import annotations

import django_filters

from changes.models import Change
from firelater.filters import IsoDateTimeFilter


class ChangeFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Change.Status.choices)
    risk = django_filters.MultipleChoiceFilter(choices=Change.Risk.choices)
    type = django_filters.MultipleChoiceFilter(choices=Change.Type.choices)
    scheduled_after = IsoDateTimeFilter(field_name="scheduled_start", lookup_expr="gte")
    scheduled_before = IsoDateTimeFilter(field_name="scheduled_start", lookup_expr="lt")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Change
        fields = ["status", "risk", "type", "application"]
