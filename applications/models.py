"""Applications that issues and changes concern, and their health-score history."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from firelater.tracking import BulkWriteQuerySet, TracksLoadedValues


class HealthStatus(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    UNKNOWN = "unknown", "Unknown"


HEALTHY_MIN_SCORE = 80
WARNING_MIN_SCORE = 50


def health_status_for(score: int | None) -> HealthStatus:
    """Bucket a score: healthy >= 80, warning 50-79, critical < 50, unknown when none."""
    if score is None:
        return HealthStatus.UNKNOWN
    if score >= HEALTHY_MIN_SCORE:
        return HealthStatus.HEALTHY
    if score >= WARNING_MIN_SCORE:
        return HealthStatus.WARNING
    return HealthStatus.CRITICAL


class Application(TracksLoadedValues):
    class Tier(models.IntegerChoices):
        TIER_1 = 1, "Tier 1 (mission critical)"
        TIER_2 = 2, "Tier 2 (business critical)"
        TIER_3 = 3, "Tier 3 (business operational)"
        TIER_4 = 4, "Tier 4 (administrative)"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER_3)
    owner = models.CharField(max_length=200, blank=True, help_text="Owning team or person.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = BulkWriteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["tier"], name="app_tier_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(tier__gte=1, tier__lte=4), name="app_tier_1_to_4"),
        ]

    def __str__(self) -> str:
        return self.name


class ApplicationHealthScore(TracksLoadedValues):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="health_scores"
    )
    score = models.PositiveSmallIntegerField()
    calculated_at = models.DateTimeField(default=timezone.now)

    objects = BulkWriteQuerySet.as_manager()

    class Meta:
        ordering = ["-calculated_at"]
        get_latest_by = "calculated_at"
        indexes = [
            # "latest score per application": DISTINCT ON (application_id) ... ORDER BY
            # application_id, calculated_at DESC walks this index.
            models.Index(
                fields=["application", "-calculated_at"], name="health_app_calculated_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100), name="health_score_0_to_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.score} at {self.calculated_at:%Y-%m-%d %H:%M}"

    @property
    def status(self) -> HealthStatus:
        return health_status_for(self.score)
