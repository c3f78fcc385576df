"""The record apps' CRUD viewset: thin, every write through the app's services."""

from __future__ import annotations

from typing import Any

from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

import tenant_cache


class ReplicaListMixin:
    """GET lists read from the PostgreSQL standby when one is configured and it has
    replayed the user's own latest write and is at most CACHE_MAX_STALE behind (else the
    primary; tenant_cache.on_replica). Permissions and the user were checked before, on
    the primary."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        parent = super().list  # type: ignore[misc]
        return tenant_cache.on_replica(lambda: parent(request, *args, **kwargs))


class RecordViewSet(ReplicaListMixin, viewsets.ModelViewSet):
    """CRUD over a record app's services: create_service(**data[, <creator>=user]),
    update_service(<instance_name>=obj, data=...), delete_service(<instance_name>=obj)."""

    search_fields = ["title", "description"]
    ordering = ["-created_at"]
    instance_name: str = ""  # the services' keyword for the record (issue=, change=, ...)
    creator_name: str | None = None  # the create service's keyword for the request's user
    create_service: Any
    update_service: Any
    delete_service: Any

    def perform_create(self, serializer: Any) -> None:
        creator = {self.creator_name: self.request.user} if self.creator_name else {}
        serializer.instance = type(self).create_service(**creator, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = type(self).update_service(
            **{self.instance_name: serializer.instance}, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Any) -> None:
        type(self).delete_service(**{self.instance_name: instance})
