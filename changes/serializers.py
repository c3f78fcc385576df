"""Change API input/output."""

from __future__ import annotations

from typing import Any

from changes.models import Change
from firelater.serializers import RecordSerializer


class ChangeSerializer(RecordSerializer):
    class Meta:
        model = Change
        fields = [
            *RecordSerializer.HEAD,
            *("risk", "type", "application", "scheduled_start", "scheduled_end"),
            *RecordSerializer.TAIL,
        ]
        read_only_fields = list(RecordSerializer.READ_ONLY)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        self.validate_not_before(
            attrs,
            "scheduled_end",
            "scheduled_start",
            "The scheduled end cannot be before the scheduled start.",
        )
        return attrs
