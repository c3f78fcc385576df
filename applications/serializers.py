"""Application and health-score API input/output."""

from __future__ import annotations

from rest_framework import serializers

from applications.models import Application, ApplicationHealthScore, health_status_for
from firelater.serializers import DateTimeField, ModelSerializer


class ApplicationSerializer(ModelSerializer):
    latest_score = serializers.IntegerField(read_only=True, allow_null=True)
    latest_score_at = DateTimeField(read_only=True, allow_null=True)
    health = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "name",
            "description",
            "tier",
            "owner",
            "created_at",
            "latest_score",
            "latest_score_at",
            "health",
        ]
        read_only_fields = ["id", "created_at"]

    def get_health(self, obj: Application) -> str:
        return health_status_for(getattr(obj, "latest_score", None)).value


class HealthScoreSerializer(ModelSerializer):
    score = serializers.IntegerField(min_value=0, max_value=100)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ApplicationHealthScore
        fields = ["id", "score", "status", "calculated_at"]
        read_only_fields = ["id", "status"]
        extra_kwargs = {"calculated_at": {"required": False}}
