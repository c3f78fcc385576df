"""Issue API input/output (JSON keys become camelCase in the renderer)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from applications.models import Application
from firelater.serializers import (
    PrimaryKeyRelatedField,
    RecordSerializer,
    UserSummarySerializer,
    active_users,
)
from issues.models import Issue


class IssueSerializer(RecordSerializer):
    application = PrimaryKeyRelatedField(
        queryset=Application.objects.all(), allow_null=True, required=False
    )
    assignee = PrimaryKeyRelatedField(queryset=active_users(), allow_null=True, required=False)
    reporter = UserSummarySerializer(read_only=True)

    class Meta:
        model = Issue
        fields = [
            "id",
            "number",
            "title",
            "description",
            "status",
            "priority",
            "application",
            "reporter",
            "assignee",
            "created_at",
            "updated_at",
            "resolved_at",
            "sla_due_at",
        ]
        read_only_fields = ["id", "number", "reporter", "created_at", "updated_at", "resolved_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        created_at = self.instance.created_at if self.instance else timezone.now()
        sla_due_at = attrs.get("sla_due_at")
        if sla_due_at is not None and sla_due_at < created_at:
            raise serializers.ValidationError(
                {"sla_due_at": ["The SLA due date cannot be before the issue was created."]}
            )
        return attrs
