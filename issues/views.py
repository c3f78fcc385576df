"""Issue CRUD API: thin viewset over issues.services."""

from __future__ import annotations

from typing import Any

from firelater.viewsets import RecordViewSet
from issues.filters import IssueFilter
from issues.selectors import issue_list
from issues.serializers import IssueSerializer
from issues.services import issue_create, issue_delete, issue_update


class IssueViewSet(RecordViewSet):
    serializer_class = IssueSerializer
    filterset_class = IssueFilter
    ordering_fields = [
        *("created_at", "updated_at", "priority", "status", "number"),
        *("sla_due_at", "resolved_at"),
    ]
    instance_name, creator_name = "issue", "reporter"
    create_service, update_service, delete_service = issue_create, issue_update, issue_delete

    def get_queryset(self) -> Any:
        # No request: a view built to read its declarations (schema, tests) sees nothing.
        request = getattr(self, "request", None)
        return issue_list(user=request.user if request is not None else None)
