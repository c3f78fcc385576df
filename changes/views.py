"""Change CRUD API: thin viewset over changes.services."""

from __future__ import annotations

from rest_framework import viewsets

from changes.filters import ChangeFilter
from changes.models import Change
from changes.serializers import ChangeSerializer
from changes.services import change_create, change_delete, change_update


class ChangeViewSet(viewsets.ModelViewSet):
    serializer_class = ChangeSerializer
    filterset_class = ChangeFilter
    search_fields = ["title", "description"]
    ordering_fields = ["created_at", "updated_at", "scheduled_start", "status", "risk", "number"]
    ordering = ["-created_at"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Change.objects.all()

    def perform_create(self, serializer: ChangeSerializer) -> None:
        serializer.instance = change_create(**serializer.validated_data)

    def perform_update(self, serializer: ChangeSerializer) -> None:
        serializer.instance = change_update(
            change=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Change) -> None:
        change_delete(change=instance)
