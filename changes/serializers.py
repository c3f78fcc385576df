"""Change API input/output."""

from __future__ import annotations

from typing import Any

from applications.models import Application
from changes.models import Change
from firelater.serializers import PrimaryKeyRelatedField, RecordSerializer


class ChangeSerializer(RecordSerializer):
    application = PrimaryKeyRelatedField(
        queryset=Application.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Change
        fields = [
            "id",
            "number",
            "title",
            "description",
            "status",
            "risk",
            "type",
            "application",
            "scheduled_start",
            "scheduled_end",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "number", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self.validate_not_before(
            attrs,
            "scheduled_end",
            "scheduled_start",
            "The scheduled end cannot be before the scheduled start.",
        )
        return attrs
