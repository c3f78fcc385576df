"""Cloud cost report API input/output (total_cost and change_percent as decimal strings)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cloud.models import CloudCostReport, PeriodType
from firelater.serializers import ModelSerializer


class CloudCostReportSerializer(ModelSerializer):
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    change_percent = serializers.DecimalField(
        max_digits=8, decimal_places=2, allow_null=True, required=False
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, required=False)

    class Meta:
        model = CloudCostReport
        fields = [
            "id",
            "provider",
            "account",
            "period_start",
            "period_type",
            "total_cost",
            "currency",
            "change_percent",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        period_type = attrs.get("period_type", getattr(self.instance, "period_type", None))
        start = attrs.get("period_start", getattr(self.instance, "period_start", None))
        if period_type in (None, PeriodType.MONTHLY) and start is not None and start.day != 1:
            raise serializers.ValidationError(
                {"period_start": ["A monthly report starts on the first of its month."]}
            )
        return attrs
