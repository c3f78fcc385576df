"""Bench-only endpoints: the peers the overview is compared with, and two baselines.

- /bench/nocache/overview/   the production selector on every request (no cache)
- /bench/cachepage/overview/ the same behind Django's cache_page (default cache, whose
                             key function, django_tenants.cache.make_key, adds the schema)
- /bench/cachalot/overview/  the overview written with the ORM (cachalot caches ORM
                             queries only; our selectors are raw SQL), cached by
                             django-cachalot when the server runs with BENCH_CACHALOT=1
- /bench/trivial/            an authenticated DRF endpoint returning a constant
- /bench/floor/              a plain JsonResponse: no tenant lookup, no auth, no cache
                             (bench.wsgi serves it without the tenant middleware)
- /bench/tenant-json/        the same view behind the full middleware (tenant included)
- /bench/drf-anon/           a DRF view returning a constant, no authentication
Together with the trivial endpoint and the warm overview they form a ladder that shows
what each layer of a warm request costs.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Now
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_page
from django.views.decorators.vary import vary_on_headers
from djangorestframework_camel_case.util import camelize
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.models import (
    HEALTHY_MIN_SCORE,
    WARNING_MIN_SCORE,
    Application,
    ApplicationHealthScore,
)
from changes.models import Change
from dashboard import selectors
from issues.models import Issue
from requests_app.models import Request as ServiceRequest

CACHE_PAGE_TTL = 300  # the overview's TTL in ours


def floor(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def tenant_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class DrfAnonymousView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class DashboardReaderView(APIView):
    """The peers' base: the role check the dashboard makes (firelater.permissions), so each
    is compared with the overview like for like."""

    required_permissions = ("dashboard.view_dashboard",)


class TrivialView(DashboardReaderView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class NoCacheOverview(DashboardReaderView):
    def get(self, request: Request) -> Response:
        return Response(camelize(selectors.overview().value))


# Vary on Authorization: without it, cache_page (which runs before DRF authenticates)
# would hand an authenticated user's page to an anonymous request for the same URL.
@method_decorator(cache_page(CACHE_PAGE_TTL), name="dispatch")
@method_decorator(vary_on_headers("Authorization"), name="dispatch")
class CachePageOverview(DashboardReaderView):
    def get(self, request: Request) -> Response:
        return Response(camelize(selectors.overview().value))


def orm_overview() -> dict[str, Any]:
    """selectors.overview() written with the ORM, the way cachalot can cache it.

    `now` is the database's statement time (Now()), not a parameter: a parameter that
    changes every request would give cachalot a new key every request.
    """
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    today = timezone.now().astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = today - dt.timedelta(days=today.weekday())
    week_end = week_start + dt.timedelta(days=7)
    issue_open = Q(status__in=Issue.OPEN_STATUSES)
    issues = Issue.objects.aggregate(
        total=Count("id"),
        open=Count("id", filter=issue_open),
        critical=Count("id", filter=issue_open & Q(priority="critical")),
        overdue=Count("id", filter=issue_open & Q(sla_due_at__lt=Now())),
        resolved_today=Count("id", filter=Q(resolved_at__gte=today)),
    )
    changes = Change.objects.aggregate(
        total=Count("id"),
        pending_approval=Count("id", filter=Q(status=Change.Status.SUBMITTED)),
        scheduled_this_week=Count(
            "id",
            filter=Q(scheduled_start__gte=week_start, scheduled_start__lt=week_end)
            & ~Q(status__in=[Change.Status.DRAFT, Change.Status.CANCELLED]),
        ),
        failed=Count("id", filter=Q(status=Change.Status.FAILED)),
    )
    request_open = Q(status__in=ServiceRequest.OPEN_STATUSES)
    requests = ServiceRequest.objects.aggregate(
        total=Count("id"),
        open=Count("id", filter=request_open),
        pending_approval=Count("id", filter=Q(status="pending_approval")),
        overdue=Count("id", filter=request_open & Q(due_at__lt=Now())),
    )
    latest_score = (
        ApplicationHealthScore.objects.filter(application=OuterRef("pk"))
        .order_by("-calculated_at")
        .values("score")[:1]
    )
    applications = Application.objects.annotate(latest=Subquery(latest_score)).aggregate(
        total=Count("id"),
        healthy=Count("id", filter=Q(latest__gte=HEALTHY_MIN_SCORE)),
        warning=Count("id", filter=Q(latest__gte=WARNING_MIN_SCORE, latest__lt=HEALTHY_MIN_SCORE)),
        critical=Count("id", filter=Q(latest__lt=WARNING_MIN_SCORE)),
        unknown=Count("id", filter=Q(latest__isnull=True)),
    )
    return {
        "issues": issues,
        "changes": changes,
        "requests": requests,
        "applications": applications,
    }


class OrmOverview(DashboardReaderView):
    def get(self, request: Request) -> Response:
        return Response(camelize(orm_overview()))
