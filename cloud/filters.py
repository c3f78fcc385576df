"""Cloud cost report list filters."""

from __future__ import annotations

import django_filters

from cloud.models import CloudCostReport, CloudProvider, PeriodType
from firelater.filters import choices_filter


class CloudCostReportFilter(django_filters.FilterSet):
    provider = choices_filter(CloudProvider)
    period_type = choices_filter(PeriodType)
    period_after = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_before = django_filters.DateFilter(field_name="period_start", lookup_expr="lt")

    class Meta:
        model = CloudCostReport
        fields = ["provider", "period_type", "account", "currency"]
