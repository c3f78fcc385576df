"""Cloud cost report CRUD API: thin viewset over cloud.services."""

from __future__ import annotations

from typing import Any

from rest_framework import viewsets

from cloud.filters import CloudCostReportFilter
from cloud.models import CloudCostReport
from cloud.serializers import CloudCostReportSerializer
from cloud.services import cost_report_create, cost_report_delete, cost_report_update
from firelater.viewsets import ReplicaListMixin


class CloudCostReportViewSet(ReplicaListMixin, viewsets.ModelViewSet):
    serializer_class = CloudCostReportSerializer
    filterset_class = CloudCostReportFilter
    search_fields = ["account"]
    ordering_fields = ["period_start", "total_cost", "provider", "account", "created_at"]
    ordering = ["-period_start", "provider", "account"]

    def get_queryset(self) -> Any:
        return CloudCostReport.objects.all()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = cost_report_create(**serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = cost_report_update(
            report=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: CloudCostReport) -> None:
        cost_report_delete(report=instance)
