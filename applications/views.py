"""Application CRUD API and its nested health-score history."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from applications.filters import ApplicationFilter
from applications.models import Application, ApplicationHealthScore
from applications.selectors import application_list, health_score_list
from applications.serializers import ApplicationSerializer, HealthScoreSerializer
from applications.services import (
    application_create,
    application_delete,
    application_update,
    health_score_record,
)
from firelater.permissions import PermissionModelMixin
from firelater.viewsets import ReplicaListMixin


class ApplicationViewSet(ReplicaListMixin, PermissionModelMixin, viewsets.ModelViewSet):
    serializer_class = ApplicationSerializer
    filterset_class = ApplicationFilter
    search_fields = ["name", "owner", "description"]
    ordering_fields = ["name", "tier", "created_at", "latest_score"]
    ordering = ["name"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return application_list()

    def perform_create(self, serializer: ApplicationSerializer) -> None:
        serializer.instance = application_create(**serializer.validated_data)

    def perform_update(self, serializer: ApplicationSerializer) -> None:
        serializer.instance = application_update(
            application=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance: Application) -> None:
        application_delete(application=instance)

    # The GET is a paginated list (the viewset's filters do not apply to it); the POST
    # creates a score and answers 201.
    @extend_schema(methods=["GET"], responses=HealthScoreSerializer(many=True), filters=False)
    @extend_schema(methods=["POST"], responses={201: HealthScoreSerializer})
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="health-scores",
        serializer_class=HealthScoreSerializer,
        permission_model=ApplicationHealthScore,  # view or add a score, not an application
        filter_backends=[],  # the applications' filters do not apply to the scores
    )
    def health_scores(
        self, request: Request, pk: str | None = None, format: str | None = None
    ) -> Response:
        # Not self.get_object(): the list's filters and ordering are the applications', not
        # the scores'.
        application = get_object_or_404(Application.objects.all(), pk=pk)
        if request.method == "POST":
            serializer = HealthScoreSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            score = health_score_record(application=application, **serializer.validated_data)
            return Response(HealthScoreSerializer(score).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(health_score_list(application=application))
        return self.get_paginated_response(HealthScoreSerializer(page, many=True).data)
