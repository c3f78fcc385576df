"""Change CRUD API: thin viewset over changes.services."""

from __future__ import annotations

from typing import Any

from changes.filters import ChangeFilter
from changes.models import Change
from changes.serializers import ChangeSerializer
from changes.services import change_create, change_delete, change_update
from firelater.viewsets import RecordViewSet


class ChangeViewSet(RecordViewSet):
    serializer_class = ChangeSerializer
    filterset_class = ChangeFilter
    ordering_fields = ["created_at", "updated_at", "scheduled_start", "status", "risk", "number"]
    instance_name = "change"
    create_service, update_service, delete_service = change_create, change_update, change_delete

    def get_queryset(self) -> Any:
        return Change.objects.all()
