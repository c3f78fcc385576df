"""Service request CRUD API: thin viewset over requests_app.services."""

from __future__ import annotations

from typing import Any

from firelater.viewsets import RecordViewSet
from requests_app.filters import RequestFilter
from requests_app.selectors import request_list
from requests_app.serializers import RequestSerializer
from requests_app.services import request_create, request_delete, request_update


class RequestViewSet(RecordViewSet):
    serializer_class = RequestSerializer
    filterset_class = RequestFilter
    ordering_fields = ["created_at", "updated_at", "priority", "status", "number", "due_at"]
    instance_name, creator_name = "service_request", "requester"
    create_service, update_service, delete_service = request_create, request_update, request_delete

    def get_queryset(self) -> Any:
        # No request: a view built to read its declarations (schema, tests) sees nothing.
        request = getattr(self, "request", None)
        return request_list(user=request.user if request is not None else None)
