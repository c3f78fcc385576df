"""Application list filters."""

from __future__ import annotations

import django_filters

from applications.models import Application


class ApplicationFilter(django_filters.FilterSet):
    tier = django_filters.MultipleChoiceFilter(choices=Application.Tier.choices)

    class Meta:
        model = Application
        fields = ["tier", "owner"]
