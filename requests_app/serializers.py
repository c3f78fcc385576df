"""Service request API input/output."""

from __future__ import annotations

from firelater.serializers import ModelSerializer, RecordSerializer, UserSummarySerializer
from requests_app.models import CatalogItem, Request


class CatalogItemSerializer(ModelSerializer):
    class Meta:
        model = CatalogItem
        fields = ["id", "name", "category", "active", "fulfilment_target_hours", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"fulfilment_target_hours": {"min_value": 1, "max_value": 8760}}


class RequestSerializer(RecordSerializer):
    requester = UserSummarySerializer(read_only=True)

    class Meta:
        model = Request
        fields = [
            *RecordSerializer.HEAD,
            *("priority", "requester", "catalog_item"),
            *RecordSerializer.TAIL,
            *("due_at", "fulfilled_at"),
        ]
        read_only_fields = [*RecordSerializer.READ_ONLY, "requester", "fulfilled_at"]

    WORKER_FIELDS = ("status",)
