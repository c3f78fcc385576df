"""factory-boy factories for cloud cost reports."""

from __future__ import annotations

import factory
from django.utils import timezone
from factory import fuzzy

from cloud.models import CloudCostReport, CloudProvider, PeriodType


class CloudCostReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloudCostReport

    provider = fuzzy.FuzzyChoice([CloudProvider.AWS, CloudProvider.AZURE, CloudProvider.GCP])
    account = factory.Sequence(lambda n: f"account-{n}")
    period_type = PeriodType.MONTHLY
    period_start = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    total_cost = fuzzy.FuzzyDecimal(100, 90000, 2)
    currency = "USD"
