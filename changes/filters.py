"""Change list filters."""

from __future__ import annotations

import django_filters

from changes.models import Change


class ChangeFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Change.Status.choices)
    risk = django_filters.MultipleChoiceFilter(choices=Change.Risk.choices)
    type = django_filters.MultipleChoiceFilter(choices=Change.Type.choices)
    scheduled_after = django_filters.IsoDateTimeFilter(
        field_name="scheduled_start", lookup_expr="gte"
    )
    scheduled_before = django_filters.IsoDateTimeFilter(
        field_name="scheduled_start", lookup_expr="lt"
    )
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Change
        fields = ["status", "risk", "type", "application"]
