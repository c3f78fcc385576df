"""Change CRUD API: thin viewset over changes.services."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.exceptions import PermissionDenied

from changes.approval import APPROVE_PERMISSION, may_write
from changes.filters import ChangeFilter
from changes.models import Change
from changes.serializers import ChangeSerializer
from changes.services import change_create, change_delete, change_update
from changes.workflow import TransitionError
from firelater.viewsets import RecordViewSet


class ChangeViewSet(RecordViewSet):
    serializer_class = ChangeSerializer
    filterset_class = ChangeFilter
    ordering_fields = [
        "created_at",
        "updated_at",
        "scheduled_start",
        "completed_at",
        "status",
        "risk",
        "number",
    ]
    instance_name = "change"
    create_service, update_service, delete_service = change_create, change_update, change_delete

    def get_queryset(self) -> Any:
        return Change.objects.all()

    def perform_create(self, serializer: Any) -> None:
        self._check_approval(None, serializer.validated_data)
        super().perform_create(serializer)

    def perform_update(self, serializer: Any) -> None:
        self._check_approval(serializer.instance, serializer.validated_data)
        try:
            super().perform_update(serializer)
        except TransitionError as error:
            message = error.message_dict["status"][0]
            # detail, as every 409 has; status, as a field error would name it.
            raise WorkflowConflict({"detail": message, "status": [message]}) from error

    def _check_approval(self, change: Change | None, data: Any) -> None:
        reason = may_write(user=self.request.user, change=change, data=data)
        if reason is not None:
            raise PermissionDenied(
                {
                    "detail": f"{reason} Your role may not: it needs {APPROVE_PERMISSION}.",
                    "required_permissions": [APPROVE_PERMISSION],
                }
            )


class WorkflowConflict(exceptions.APIException):
    """An illegal status transition: the change is in a state that does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "illegal_transition"
