"""Issue API input/output (JSON keys become camelCase in the renderer)."""

from __future__ import annotations

from firelater.serializers import (
    PrimaryKeyRelatedField,
    RecordSerializer,
    UserSummarySerializer,
    active_users,
)
from issues.models import Issue


class IssueSerializer(RecordSerializer):
    assignee = PrimaryKeyRelatedField(queryset=active_users(), allow_null=True, required=False)
    reporter = UserSummarySerializer(read_only=True)

    class Meta:
        model = Issue
        fields = [
            *RecordSerializer.HEAD,
            *("priority", "application", "reporter", "assignee"),
            *RecordSerializer.TAIL,
            *("resolved_at", "sla_due_at"),
        ]
        read_only_fields = [*RecordSerializer.READ_ONLY, "reporter", "resolved_at"]

    WORKER_FIELDS = ("status", "assignee", "sla_due_at")
