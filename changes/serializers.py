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
            *("outcome", "completed_at"),
            *RecordSerializer.TAIL,
        ]
        read_only_fields = [*RecordSerializer.READ_ONLY, "completed_at"]
        extra_kwargs = {
            "outcome": {
                "help_text": "How it ended: set with status completed (default successful), "
                "failed (default failed) or rolled_back; kept when closed; none otherwise."
            },
            "status": {
                "help_text": "Follows the workflow (changes/workflow.py); an illegal "
                "transition is a 409."
            },
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        self.validate_not_before(
            attrs,
            "scheduled_end",
            "scheduled_start",
            "The scheduled end cannot be before the scheduled start.",
        )
        return attrs
