"""The dashboard's cache entries, declared once: selector, TTL, dependencies, fields.

Adding an entry is one line here plus its selector. The viewsets, the signal
invalidation, warm_cache and the stats all read this registry.
"""

from __future__ import annotations

from typing import Any

from djangorestframework_camel_case.util import camelize

from dashboard import selectors
from firelater.cache import CacheEntry, CacheResult, get_or_set, registry

ISSUES, CHANGES, REQUESTS, HEALTH = "issues", "changes", "requests", "health"
DATA_CATEGORIES = (ISSUES, CHANGES, REQUESTS, HEALTH)


def _fields(**by_category: str) -> dict[str, frozenset[str]]:
    return {category: frozenset(names.split()) for category, names in by_category.items()}


# The model fields each aggregate reads. A write that changes none of them leaves the
# entry alone (a priority-only change keeps by-status; a title-only change keeps counts).
_OVERVIEW_FIELDS = _fields(
    issues="status priority sla_due_at resolved_at created_at",
    changes="status scheduled_start",
    requests="status due_at",
    health="score calculated_at application_id",
)


def _entry(subcategory: str, depends_on: tuple[str, ...], fetch: Any, **options: Any) -> CacheEntry:
    return registry.register(
        CacheEntry(
            category="dashboard",
            subcategory=subcategory,
            depends_on=frozenset(depends_on),
            fetch=fetch,
            **options,
        )
    )


OVERVIEW = _entry(
    "overview", DATA_CATEGORIES, selectors.overview, ttl_name="overview", fields=_OVERVIEW_FIELDS
)
TRENDS = _entry(
    "trends",
    (ISSUES,),
    selectors.issue_trends,
    ttl_name="trends",
    fields=_fields(issues="created_at resolved_at"),
    default_params={"days": 30},
)
HEALTH_DISTRIBUTION = _entry(
    "health",
    (HEALTH,),
    selectors.health_distribution,
    ttl_name="health",
    fields=_fields(health="score calculated_at application_id name tier"),
)
ACTIVITY = _entry(
    "activity",
    (ISSUES, CHANGES, REQUESTS),
    selectors.recent_activity,
    ttl_name="activity",
    default_params={"limit": 20},
)  # every save moves updated_at, so any write is news here
ISSUES_BY_PRIORITY = _entry(
    "issues_by_priority",
    (ISSUES,),
    selectors.issues_by_priority,
    ttl_name="overview",
    fields=_fields(issues="priority status"),
)
ISSUES_BY_STATUS = _entry(
    "issues_by_status",
    (ISSUES,),
    selectors.issues_by_status,
    ttl_name="overview",
    fields=_fields(issues="status"),
)
CHANGES_UPCOMING = _entry(
    "changes_upcoming",
    (CHANGES, HEALTH),
    selectors.upcoming_changes,
    ttl_name="overview",
    fields=_fields(
        changes="title status risk type scheduled_start scheduled_end application_id number",
        health="name",
    ),
)
REQUESTS_BY_STATUS = _entry(
    "requests_by_status",
    (REQUESTS,),
    selectors.requests_by_status,
    ttl_name="overview",
    fields=_fields(requests="status"),
)
MOBILE = _entry(
    "mobile",
    DATA_CATEGORIES,
    selectors.mobile_summary,
    ttl_name="mobile",
    fields=_fields(
        issues="status priority sla_due_at",
        changes="status scheduled_start",
        requests="status",
        health="score calculated_at application_id",
    ),
)

DASHBOARD_ENTRIES = (
    OVERVIEW,
    TRENDS,
    HEALTH_DISTRIBUTION,
    ACTIVITY,
    ISSUES_BY_PRIORITY,
    ISSUES_BY_STATUS,
    CHANGES_UPCOMING,
    REQUESTS_BY_STATUS,
    MOBILE,
)


def read_entry(entry: CacheEntry, params: dict[str, Any] | None = None) -> CacheResult:
    """The entry's JSON for the current tenant, through the cache: the one read path of the
    API, the pages and warm_cache, so each is a hit when another computed the value."""
    effective = {**entry.default_params, **(params or {})}
    return get_or_set(entry, effective, lambda: camelize(entry.fetch(**effective)))  # type: ignore[misc]
