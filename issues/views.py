"""Issue CRUD API: thin viewset over issues.services."""

from __future__ import annotations

from rest_framework import viewsets

from issues.filters import IssueFilter
from issues.models import Issue
from issues.serializers import IssueSerializer
from issues.services import issue_create, issue_delete, issue_update


class IssueViewSet(viewsets.ModelViewSet):
    serializer_class = IssueSerializer
    filterset_class = IssueFilter
    search_fields = ["title", "description"]
    ordering_fields = [
        "created_at",
        "updated_at",
        "priority",
        "status",
        "number",
        "sla_due_at",
        "resolved_at",
    ]
    ordering = ["-created_at"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Issue.objects.select_related("reporter", "application")

    def perform_create(self, serializer: IssueSerializer) -> None:
        serializer.instance = issue_create(reporter=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: IssueSerializer) -> None:
        serializer.instance = issue_update(
            issue=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Issue) -> None:
        issue_delete(issue=instance)
