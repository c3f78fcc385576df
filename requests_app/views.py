"""Service request CRUD API: thin viewset over requests_app.services."""

from __future__ import annotations

from typing import Any

from django.db.models import ProtectedError
from rest_framework import exceptions, status, viewsets

from firelater.viewsets import RecordViewSet, ReplicaListMixin
from requests_app.filters import CatalogItemFilter, RequestFilter
from requests_app.models import CatalogItem
from requests_app.selectors import request_list
from requests_app.serializers import CatalogItemSerializer, RequestSerializer
from requests_app.services import (
    catalog_item_create,
    catalog_item_delete,
    catalog_item_update,
    request_create,
    request_delete,
    request_update,
)


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


class CatalogItemInUse(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Requests name this catalog item: deactivate it instead of deleting it."
    default_code = "protected"


class CatalogItemViewSet(ReplicaListMixin, viewsets.ModelViewSet):
    serializer_class = CatalogItemSerializer
    filterset_class = CatalogItemFilter
    search_fields = ["name", "category"]
    ordering_fields = ["name", "category", "fulfilment_target_hours", "created_at"]
    ordering = ["name"]

    def get_queryset(self) -> Any:
        return CatalogItem.objects.all()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = catalog_item_create(**serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = catalog_item_update(
            item=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: CatalogItem) -> None:
        try:
            catalog_item_delete(item=instance)
        except ProtectedError as error:
            raise CatalogItemInUse from error
