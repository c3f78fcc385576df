"""Service request API input/output."""

from __future__ import annotations

from firelater.serializers import RecordSerializer, UserSummarySerializer
from requests_app.models import Request


class RequestSerializer(RecordSerializer):
    requester = UserSummarySerializer(read_only=True)

    class Meta:
        model = Request
        fields = [
            *RecordSerializer.HEAD,
            *("priority", "requester"),
            *RecordSerializer.TAIL,
            *("due_at", "fulfilled_at"),
        ]
        read_only_fields = [*RecordSerializer.READ_ONLY, "requester", "fulfilled_at"]

    WORKER_FIELDS = ("status",)
