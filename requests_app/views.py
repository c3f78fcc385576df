"""Service request CRUD API: thin viewset over requests_app.services."""

from __future__ import annotations

from rest_framework import viewsets

from requests_app.filters import RequestFilter
from requests_app.models import Request
from requests_app.serializers import RequestSerializer
from requests_app.services import request_create, request_delete, request_update


class RequestViewSet(viewsets.ModelViewSet):
    serializer_class = RequestSerializer
    filterset_class = RequestFilter
    search_fields = ["title", "description"]
    ordering_fields = ["created_at", "updated_at", "priority", "status", "number", "due_at"]
    ordering = ["-created_at"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Request.objects.select_related("requester")

    def perform_create(self, serializer: RequestSerializer) -> None:
        serializer.instance = request_create(
            requester=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: RequestSerializer) -> None:
        serializer.instance = request_update(
            service_request=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Request) -> None:
        request_delete(service_request=instance)
