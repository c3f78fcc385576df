"""The dashboard's entries, declared once: the table everything else is derived from.

Each declaration names its selector, URL, TTL, the data categories whose writes
invalidate it, the model fields (attnames) it reads, its query parameters and its response
schema. The API's endpoints and OpenAPI schema (dashboard.views), invalidation and
warm_cache (tenant_cache's registry), the page, the tests and the bench all iterate
ENTRIES: a new entry is its selector plus one declaration here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from djangorestframework_camel_case.util import camelize
from rest_framework import serializers

from applications.models import Application, ApplicationHealthScore
from changes.models import Change
from cloud.models import CloudCostReport
from dashboard import schema, selectors
from issues.models import Issue
from requests_app.models import CatalogItem, Request
from tenant_cache import CacheEntry, Expiring, registry

ISSUES, CHANGES, REQUESTS, HEALTH = "issues", "changes", "requests", "health"
CATALOG, CLOUD = "catalog", "cloud"
# The categories the overview and the mobile summary read (not the catalog or cloud costs).
DATA_CATEGORIES = (ISSUES, CHANGES, REQUESTS, HEALTH)
# Which data category each model's writes belong to (dashboard.apps watches them).
WATCHED = {
    Issue: ISSUES,
    Request: REQUESTS,
    Change: CHANGES,
    Application: HEALTH,
    ApplicationHealthScore: HEALTH,
    CatalogItem: CATALOG,
    CloudCostReport: CLOUD,
}


@dataclass(frozen=True)
class DashboardEntry:
    """A cached entry and how the API serves it (GET /api/v1/dashboard/<path>/)."""

    cache: CacheEntry
    path: str
    summary: str
    response: Any = None
    params: type[serializers.Serializer] | None = None
    # Example query strings for tests and the bench (besides the default parameters).
    examples: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.cache.name

    @property
    def url(self) -> str:
        return f"/api/v1/dashboard/{self.path}/"

    @property
    def default_url(self) -> str:
        """The URL with its default parameters spelled out (?days=30)."""
        params = self.cache.default_params
        return f"{self.url}?{urlencode(params)}" if params else self.url

    def example_urls(self) -> list[str]:
        """Its URL bare, and with each declared example query (for tests and the bench)."""
        return [self.url, *(self.url + query for query in self.examples)]


def _camelized(selector: Callable[..., Any]) -> Callable[..., Any]:
    """The selector's value as the API sends it (camelCase keys): what the cache stores;
    an Expiring value stays Expiring (the cache keeps it until then at most)."""

    def fetch(**params: Any) -> Any:
        value = selector(**params)
        if isinstance(value, Expiring):
            return Expiring(camelize(value.value), value.expires_at)
        return camelize(value)

    return fetch


def _fields(**by_category: str) -> dict[str, frozenset[str]]:
    return {category: frozenset(names.split()) for category, names in by_category.items()}


def _declare(
    name: str,
    fetch: Any,
    depends_on: tuple[str, ...],
    *,
    path: str,
    summary: str,
    ttl_name: str = "overview",
    fields: dict[str, frozenset[str]] | None = None,
    response: Any = None,
    params: type[serializers.Serializer] | None = None,
    examples: tuple[str, ...] = (),
) -> DashboardEntry:
    defaults = {n: f.default for n, f in params().fields.items()} if params else {}
    entry = registry.register(
        CacheEntry(
            namespace="dashboard",
            name=name,
            depends_on=frozenset(depends_on),
            ttl_name=ttl_name,
            fields=fields or {},
            fetch=_camelized(fetch),
            default_params=defaults,
        )
    )
    return DashboardEntry(entry, path, summary, response, params, examples)


class DaysParams(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=365, default=30, help_text="Days back, today included"
    )


class LimitParams(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=100, default=20, help_text="How many events"
    )


# The model fields each aggregate reads. A write that changes none of them leaves the
# entry alone (a priority-only change keeps by-status; a title-only change keeps counts).
OVERVIEW = _declare(
    "overview",
    selectors.overview,
    DATA_CATEGORIES,
    path="overview",
    summary="Headline counts of issues, changes, requests and application health",
    fields=_fields(
        issues="status priority sla_due_at resolved_at",
        changes="status scheduled_start",
        requests="status due_at",
        health="score calculated_at application_id",
    ),
    response=schema.OverviewResponse,
)
TRENDS = _declare(
    "trends",
    selectors.issue_trends,
    (ISSUES,),
    path="trends",
    summary="Issues created and resolved per day",
    ttl_name="trends",
    fields=_fields(issues="created_at resolved_at"),
    response=schema.TrendDay(many=True),
    params=DaysParams,
    examples=("?days=7", "?days=365"),
)
HEALTH_DISTRIBUTION = _declare(
    "health",
    selectors.health_distribution,
    (HEALTH,),
    path="health",
    summary="Application health buckets, per tier, latest scores",
    ttl_name="health",
    fields=_fields(health="score calculated_at application_id name tier"),
    response=schema.HealthResponse,
)
ACTIVITY = _declare(
    "activity",
    selectors.recent_activity,
    (ISSUES, CHANGES, REQUESTS),
    path="activity",
    summary="Newest events across issues, changes and requests",
    ttl_name="activity",
    response=schema.ActivityEvent(many=True),
    params=LimitParams,
    examples=("?limit=5", "?limit=100"),
)  # every save moves updated_at, so any write is news here
ISSUES_BY_PRIORITY = _declare(
    "issues_by_priority",
    selectors.issues_by_priority,
    (ISSUES,),
    path="issues/by-priority",
    summary="Open issues per priority",
    fields=_fields(issues="priority status"),
    response=schema.PriorityCount(many=True),
)
ISSUES_BY_STATUS = _declare(
    "issues_by_status",
    selectors.issues_by_status,
    (ISSUES,),
    path="issues/by-status",
    summary="Issues per status",
    fields=_fields(issues="status"),
    response=schema.IssueStatusCount(many=True),
)
CHANGES_UPCOMING = _declare(
    "changes_upcoming",
    selectors.upcoming_changes,
    (CHANGES, HEALTH),
    path="changes/upcoming",
    summary="Changes scheduled in the next 7 days",
    fields=_fields(
        changes="title status risk type scheduled_start scheduled_end application_id number",
        health="name",
    ),
    response=schema.UpcomingResponse,
)
REQUESTS_BY_STATUS = _declare(
    "requests_by_status",
    selectors.requests_by_status,
    (REQUESTS,),
    path="requests/by-status",
    summary="Service requests per status",
    fields=_fields(requests="status"),
    response=schema.RequestStatusCount(many=True),
)
MOBILE = _declare(
    "mobile",
    selectors.mobile_summary,
    DATA_CATEGORIES,
    path="mobile",
    summary="Compact summary for the mobile app",
    ttl_name="mobile",
    fields=_fields(
        issues="status priority sla_due_at",
        changes="status scheduled_start",
        requests="status",
        health="score calculated_at application_id",
    ),
    response=schema.MobileResponse,
)


class CriticalParams(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=100, default=5, help_text="How many applications"
    )


class ByItemParams(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=1, max_value=365, default=30, help_text="Days back, today included"
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=100, default=10, help_text="How many catalog items"
    )


class MonthsParams(serializers.Serializer):
    months = serializers.IntegerField(
        min_value=1, max_value=36, default=6, help_text="Months back, this one included"
    )


SLA_COMPLIANCE = _declare(
    "sla_compliance",
    selectors.sla_compliance,
    (ISSUES,),
    path="sla/compliance",
    summary="SLA compliance per priority of the issues created in the period",
    ttl_name="trends",
    fields=_fields(issues="priority created_at sla_due_at resolved_at"),
    response=schema.SlaCompliance(many=True),
    params=DaysParams,
    examples=("?days=7", "?days=365"),
)
CHANGE_SUCCESS = _declare(
    "change_success",
    selectors.change_success_rate,
    (CHANGES,),
    path="changes/success-rate",
    summary="Changes ended per day by outcome, and the success rate",
    ttl_name="trends",
    fields=_fields(changes="completed_at outcome"),
    response=schema.ChangeSuccessDay(many=True),
    params=DaysParams,
    examples=("?days=7", "?days=365"),
)
CRITICAL_APPLICATIONS = _declare(
    "critical_applications",
    selectors.critical_applications,
    (HEALTH,),
    path="applications/critical",
    summary="Applications below the warning threshold, lowest score first",
    ttl_name="health",
    fields=_fields(health="name tier score calculated_at application_id"),
    response=schema.CriticalApplications,
    params=CriticalParams,
    examples=("?limit=1", "?limit=100"),
)
REQUESTS_BY_ITEM = _declare(
    "requests_by_item",
    selectors.requests_by_catalog_item,
    (REQUESTS, CATALOG),
    path="requests/by-item",
    summary="Service requests per catalog item, the most requested first",
    ttl_name="trends",
    fields=_fields(
        requests="catalog_item_id created_at fulfilled_at",
        catalog="name fulfilment_target_hours",
    ),
    response=schema.CatalogItemRequests(many=True),
    params=ByItemParams,
    examples=("?days=7&limit=3", "?days=365&limit=100"),
)
CLOUD_COSTS = _declare(
    "cloud_costs",
    selectors.cloud_costs,
    (CLOUD,),
    path="cloud/costs",
    summary="Cloud costs per month and currency, with the split per provider",
    ttl_name="trends",
    fields=_fields(cloud="provider account currency period_type total_cost period_start"),
    response=schema.CloudCostMonth(many=True),
    params=MonthsParams,
    examples=("?months=1", "?months=36"),
)

ENTRIES = (
    OVERVIEW,
    TRENDS,
    HEALTH_DISTRIBUTION,
    ACTIVITY,
    ISSUES_BY_PRIORITY,
    ISSUES_BY_STATUS,
    CHANGES_UPCOMING,
    REQUESTS_BY_STATUS,
    MOBILE,
    SLA_COMPLIANCE,
    CHANGE_SUCCESS,
    CRITICAL_APPLICATIONS,
    REQUESTS_BY_ITEM,
    CLOUD_COSTS,
)
# The cache entries alone, in the same order (warm_cache, stats and tests iterate these).
DASHBOARD_ENTRIES = tuple(e.cache for e in ENTRIES)
# Every URL the dashboard API serves: its root (the overview) and each entry's examples.
DASHBOARD_URLS = ("/api/v1/dashboard/", *(url for e in ENTRIES for url in e.example_urls()))
