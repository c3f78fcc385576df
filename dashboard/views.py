"""Dashboard API: cached aggregates (X-Cache: HIT/MISS/BYPASS) and cache administration."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard import entries
from dashboard.entries import read_entry
from dashboard.schema import (
    DAYS,
    LIMIT,
    STAFF_ERRORS,
    ActivityEvent,
    CacheStatsResponse,
    HealthResponse,
    InvalidateResponse,
    IssueStatusCount,
    MobileResponse,
    OverviewResponse,
    PriorityCount,
    RequestStatusCount,
    TrendDay,
    UpcomingResponse,
    dashboard_schema,
)
from dashboard.serializers import (
    ActivityParams,
    InvalidateInput,
    PlatformInvalidateInput,
    TrendsParams,
)
from dashboard.services import cache_invalidate_for_tenant, cache_stats_for_platform
from firelater.cache import CacheEntry, current_tenant
from firelater.cache.stats import tenant_stats


def cached_entry_response(request: Request, entry: CacheEntry, params: dict[str, Any]) -> Any:
    """The entry's JSON through the cache. A JSON client gets the stored bytes as they are
    (no parse, no re-render); the browsable API gets them rendered as a page."""
    result = read_entry(entry, params)
    if getattr(request.accepted_renderer, "format", "json") == "json":
        response: Any = HttpResponse(result.body, content_type="application/json")
    else:
        response = Response(result.value)
    response["X-Cache"] = result.status
    return response


def _params(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class DashboardViewSet(viewsets.ViewSet):
    """FireLater's dashboard, per tenant. Every response carries X-Cache."""

    # Each action takes `format`: the router's suffix URLs (overview.json) pass it.

    @dashboard_schema(OverviewResponse, summary="Overview (same body as overview/)")
    def list(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.OVERVIEW, {})

    @dashboard_schema(
        OverviewResponse,
        summary="Headline counts of issues, changes, requests and application health",
    )
    @action(detail=False)
    def overview(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.OVERVIEW, {})

    @dashboard_schema(
        TrendDay(many=True), summary="Issues created and resolved per day", parameters=[DAYS]
    )
    @action(detail=False)
    def trends(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.TRENDS, _params(TrendsParams, request))

    @dashboard_schema(HealthResponse, summary="Application health buckets, per tier, latest scores")
    @action(detail=False)
    def health(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.HEALTH_DISTRIBUTION, {})

    @dashboard_schema(
        ActivityEvent(many=True),
        summary="Newest events across issues, changes and requests",
        parameters=[LIMIT],
    )
    @action(detail=False)
    def activity(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.ACTIVITY, _params(ActivityParams, request))

    @dashboard_schema(PriorityCount(many=True), summary="Open issues per priority")
    @action(detail=False, url_path="issues/by-priority")
    def issues_by_priority(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.ISSUES_BY_PRIORITY, {})

    @dashboard_schema(IssueStatusCount(many=True), summary="Issues per status")
    @action(detail=False, url_path="issues/by-status")
    def issues_by_status(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.ISSUES_BY_STATUS, {})

    @dashboard_schema(UpcomingResponse, summary="Changes scheduled in the next 7 days")
    @action(detail=False, url_path="changes/upcoming")
    def changes_upcoming(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.CHANGES_UPCOMING, {})

    @dashboard_schema(RequestStatusCount(many=True), summary="Service requests per status")
    @action(detail=False, url_path="requests/by-status")
    def requests_by_status(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.REQUESTS_BY_STATUS, {})

    @dashboard_schema(MobileResponse, summary="Compact summary for the mobile app")
    @action(detail=False)
    def mobile(self, request: Request, format: str | None = None) -> Any:
        return cached_entry_response(request, entries.MOBILE, {})


class CacheStatsView(APIView):
    """This tenant's cache figures (staff only)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(responses={200: CacheStatsResponse, **STAFF_ERRORS}, tags=["cache"])
    def get(self, request: Request) -> Response:
        return Response(tenant_stats(current_tenant()))


class CacheInvalidateView(APIView):
    """Drop this tenant's entries of one data category, or all of them (staff only)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        request=InvalidateInput,
        responses={
            200: InvalidateResponse,
            400: OpenApiResponse(description="Unknown category."),
            **STAFF_ERRORS,
        },
        tags=["cache"],
    )
    def post(self, request: Request) -> Response:
        serializer = InvalidateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = serializer.validated_data["category"]
        dropped = cache_invalidate_for_tenant(tenant=current_tenant(), category=category)
        return Response(
            {"tenant": current_tenant(), "category": category or "all", "keysDropped": dropped}
        )


class PlatformCacheStatsView(APIView):
    """Every tenant's cache figures and Redis's own (platform superusers, public host)."""

    permission_classes = [permissions.IsAdminUser]

    def get(self, request: Request) -> Response:
        if not request.user.is_superuser:
            return Response({"detail": "Platform superusers only."}, status=403)
        return Response(cache_stats_for_platform())


class PlatformCacheInvalidateView(APIView):
    permission_classes = [permissions.IsAdminUser]

    def post(self, request: Request) -> Response:
        if not request.user.is_superuser:
            return Response({"detail": "Platform superusers only."}, status=403)
        serializer = PlatformInvalidateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        from tenants.models import Tenant

        tenants = Tenant.objects.exclude(schema_name="public")
        if data["tenant"]:
            tenants = tenants.filter(slug=data["tenant"])
            if not tenants.exists():
                return Response({"tenant": [f"Unknown tenant {data['tenant']!r}."]}, status=400)
        dropped = {
            t.slug: cache_invalidate_for_tenant(tenant=t.schema_name, category=data["category"])
            for t in tenants
        }
        return Response(
            {"category": data["category"] or "all", "keysDropped": dropped},
            status=status.HTTP_200_OK,
        )
