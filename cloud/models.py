"""Cloud cost reports: what each provider account billed for a month or a day."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from firelater.models import choices_valid
from firelater.tracking import BulkWriteQuerySet, TracksLoadedValues


class CloudProvider(models.TextChoices):
    AWS = "aws", "AWS"
    AZURE = "azure", "Azure"
    GCP = "gcp", "Google Cloud"
    OCI = "oci", "Oracle Cloud"
    OTHER = "other", "Other"


class PeriodType(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    DAILY = "daily", "Daily"


class CloudCostReport(TracksLoadedValues):
    """One bill: a provider account's total for the period starting period_start (the
    first of the month for a monthly report)."""

    Provider = CloudProvider
    Period = PeriodType

    provider = models.CharField(max_length=10, choices=CloudProvider.choices)
    account = models.CharField(max_length=100, help_text="The provider's account or project.")
    period_start = models.DateField()
    period_type = models.CharField(
        max_length=10, choices=PeriodType.choices, default=PeriodType.MONTHLY
    )
    total_cost = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code.")
    change_percent = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Change on the previous period, as the provider reported it.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = BulkWriteQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "provider", "account"]
        indexes = [models.Index(fields=["period_start"], name="cloud_period_start_idx")]
        constraints = [
            *choices_valid("cloud", provider=CloudProvider, period_type=PeriodType),
            models.UniqueConstraint(
                fields=["provider", "account", "period_type", "period_start"],
                name="cloud_one_report_per_period",
            ),
            models.CheckConstraint(
                condition=Q(period_type=PeriodType.DAILY) | Q(period_start__day=1),
                name="cloud_monthly_starts_on_the_first",
            ),
            models.CheckConstraint(condition=Q(total_cost__gte=0), name="cloud_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="cloud_currency_iso_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.account} {self.period_start}"
