"""Service request API input/output."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from firelater.serializers import RecordSerializer, UserSummarySerializer
from requests_app.models import Request


class RequestSerializer(RecordSerializer):
    requester = UserSummarySerializer(read_only=True)

    class Meta:
        model = Request
        fields = [
            "id",
            "number",
            "title",
            "description",
            "status",
            "priority",
            "requester",
            "created_at",
            "updated_at",
            "due_at",
            "fulfilled_at",
        ]
        read_only_fields = ["id", "number", "requester", "created_at", "updated_at", "fulfilled_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        created_at = self.instance.created_at if self.instance else timezone.now()
        due_at = attrs.get("due_at")
        if due_at is not None and due_at < created_at:
            raise serializers.ValidationError(
                {"due_at": ["The due date cannot be before the request was created."]}
            )
        return attrs
