"""The server-rendered dashboard at `/` of each tenant host.

Every figure comes from the cached dashboard entries through tenant_cache.read,
the same call and parameters as the JSON API: a page view is a cache hit when the API's
was. The page's script refreshes it from that API; without JavaScript it is complete.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from applications.models import Application, HealthStatus
from dashboard import entries
from dashboard.charts import bar_rows, stacked_columns, trend_chart
from dashboard.entries import DashboardEntry
from firelater.models import Priority
from issues.models import Issue
from tenant_cache import BYPASS, HIT, MISS, STALE, read

logger = logging.getLogger(__name__)

TREND_PERIODS = (7, 30, 90)
UPCOMING_SHOWN = 6
ACTIVITY_SHOWN = 10
REFRESH_SECONDS = 45  # how often the open page refreshes itself from the API
_PRIORITY_TONES = {"critical": "critical", "high": "warning"}
_STATUS_TONES = {"resolved": "healthy", "closed": "muted"}
# Where each activity type's records live in the admin (links for staff users).
ADMIN_MODELS = {
    "issue": "issues/issue",
    "change": "changes/change",
    "request": "requests_app/request",
}


@dataclass(frozen=True)
class Figure:
    """One number on a card: its label, its path in the API's JSON, its value."""

    label: str
    field: str
    value: int
    tone: str = "neutral"


@dataclass(frozen=True)
class Card:
    title: str
    headline: Figure
    details: tuple[Figure, ...]


# (title, headline, details): paths into the overview entry's camelCase JSON.
_CARDS = (
    (
        "Open issues",
        ("open", "issues.open"),
        (
            ("Critical", "issues.critical", "critical"),
            ("Past SLA", "issues.overdue", "warning"),
            ("Resolved today", "issues.resolvedToday", "healthy"),
        ),
    ),
    (
        "Changes this week",
        ("scheduled", "changes.scheduledThisWeek"),
        (
            ("Awaiting approval", "changes.pendingApproval", "warning"),
            ("Failed", "changes.failed", "critical"),
            ("All changes", "changes.total", "neutral"),
        ),
    ),
    (
        "Open requests",
        ("open", "requests.open"),
        (
            ("Awaiting approval", "requests.pendingApproval", "warning"),
            ("Overdue", "requests.overdue", "critical"),
            ("All requests", "requests.total", "neutral"),
        ),
    ),
    (
        "Applications",
        ("monitored", "applications.total"),
        (
            ("Healthy", "applications.healthy", "healthy"),
            ("Warning", "applications.warning", "warning"),
            ("Critical", "applications.critical", "critical"),
        ),
    ),
)


# The page's sections and the entry each shows.
SECTIONS: dict[str, DashboardEntry] = {
    "overview": entries.OVERVIEW,
    "trends": entries.TRENDS,
    "health": entries.HEALTH_DISTRIBUTION,
    "by_priority": entries.ISSUES_BY_PRIORITY,
    "by_status": entries.ISSUES_BY_STATUS,
    "upcoming": entries.CHANGES_UPCOMING,
    "activity": entries.ACTIVITY,
    "sla": entries.SLA_COMPLIANCE,
    "success": entries.CHANGE_SUCCESS,
    "critical_apps": entries.CRITICAL_APPLICATIONS,
    "by_item": entries.REQUESTS_BY_ITEM,
    "cloud": entries.CLOUD_COSTS,
}
SUCCESS_SERIES = ("successful", "failed", "rolledBack")
TREND_DAYS_DEFAULT: int = entries.TRENDS.cache.default_params["days"]
ACTIVITY_LIMIT: int = entries.ACTIVITY.cache.default_params["limit"]


def dashboard_sections(days: int) -> dict[str, tuple[DashboardEntry, dict[str, Any]]]:
    """Each section's entry and parameters, exactly as the API's endpoints pass them."""
    return {
        name: (entry, {"days": days} if entry is entries.TRENDS else {})
        for name, entry in SECTIONS.items()
    }


def trend_days(raw: str | None) -> int:
    """The trend period asked for in ?days=, if it is one the switch offers."""
    try:
        days = int(raw or "")
    except ValueError:
        return TREND_DAYS_DEFAULT
    return days if days in TREND_PERIODS else TREND_DAYS_DEFAULT


def _dig(data: Mapping[str, Any], path: str) -> int:
    value: Any = data
    for part in path.split("."):
        value = value[part]
    return int(value)


def overview_cards(overview: Mapping[str, Any]) -> list[Card]:
    return [
        Card(
            title=title,
            headline=Figure(label, f"overview.{path}", _dig(overview, path)),
            details=tuple(
                Figure(name, f"overview.{field}", _dig(overview, field), tone)
                for name, field, tone in details
            ),
        )
        for title, (label, path), details in _CARDS
    ]


def health_by_tier(health: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every tier (empty ones too, so the refresh script finds each), bucket counts."""
    buckets = [s.value for s in HealthStatus]
    counted = {row["tier"]: row for row in health["byTier"]}
    rows = []
    for tier, label in Application.Tier.choices:
        name, _, description = str(label).partition(" (")
        counts, start = [], 0
        for b in buckets:  # each part an SVG rect from `start`, `value` wide (no inline style)
            value = int(counted.get(tier, {}).get(b, 0))
            counts.append({"status": b, "label": b.title(), "value": value, "start": start})
            start += value
        rows.append(
            {
                "tier": tier,
                "name": name,
                "description": description.rstrip(")"),
                "counts": counts,
                "total": start,
                "scale": start or 1,
            }
        )
    return rows


def _with_datetimes(item: Mapping[str, Any], *names: str) -> dict[str, Any]:
    parsed = dict(item)
    for name in names:
        if parsed.get(name):
            parsed[name] = parse_datetime(parsed[name])
    return parsed


def _admin_path(event: Mapping[str, Any]) -> str:
    """The event's record in the admin, relative to the admin index ("" if unknown)."""
    model = ADMIN_MODELS.get(event["type"])
    return f"{model}/{event['id']}/change/" if model else ""


def _cache_summary(statuses: Mapping[str, str]) -> str:
    """One X-Cache value for the page: HIT only if every section was a hit."""
    for status in (BYPASS, MISS, STALE):
        if status in statuses.values():
            return status
    return HIT


def _script_config(days: int) -> dict[str, Any]:
    """What static/dashboard/dashboard.js needs: the API's URLs and the page's limits."""
    api = {name: reverse(f"dashboard-{e.name.replace('_', '-')}") for name, e in SECTIONS.items()}
    api["activity"] += f"?limit={ACTIVITY_LIMIT}"
    return {
        "api": api,
        "days": days,
        "timeZone": settings.TIME_ZONE,
        "loginUrl": reverse("login"),
        "upcomingShown": UPCOMING_SHOWN,
        "activityShown": ACTIVITY_SHOWN,
        "refreshSeconds": REFRESH_SECONDS,
    }


def _upcoming(upcoming: Mapping[str, Any]) -> dict[str, Any]:
    shown = upcoming["changes"][:UPCOMING_SHOWN]
    return {
        **upcoming,
        "changes": [_with_datetimes(c, "scheduledStart", "scheduledEnd") for c in shown],
        "hidden": upcoming["total"] - len(shown),
    }


def _activity(events: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**_with_datetimes(event, "at"), "admin_path": _admin_path(event)}
        for event in events[:ACTIVITY_SHOWN]
    ]


def _rated(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _sla(rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    labels = dict(Priority.choices)
    total = sum(int(row["total"]) for row in rows)
    within = sum(int(row["withinSla"]) for row in rows)
    return {
        "rows": [{**row, "label": labels[row["priority"]]} for row in rows],
        "total": total,
        "rate": _rated(within, total),
    }


def _success(days: list[Mapping[str, Any]]) -> dict[str, Any]:
    totals = {name: sum(int(day[name]) for day in days) for name in ("completed", *SUCCESS_SERIES)}
    return {
        "days": len(days),
        "totals": totals,
        "rate": _rated(totals["successful"], totals["completed"]),
        "chart": stacked_columns(days, "date", SUCCESS_SERIES),
    }


def _cloud(months: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The table's rows, and the chart of the first currency (one currency per chart)."""
    currency = months[0]["currency"] if months else ""
    charted = [m for m in months if m["currency"] == currency]
    latest = charted[-1] if charted else None
    return {
        "rows": list(reversed(months)),
        "currency": currency,
        "latest": latest,
        "chart": stacked_columns(charted, "month", ("totalCost",)),
    }


def dashboard_context(days: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The template context, and each section's cache status (HIT/MISS/BYPASS)."""
    values: dict[str, Any] = {}
    statuses: dict[str, str] = {}
    for name, (entry, params) in dashboard_sections(days).items():
        result = read(entry.cache, params)
        values[name], statuses[name] = result.value, result.status

    overview, by_priority, by_status = (
        values["overview"],
        values["by_priority"],
        values["by_status"],
    )
    context = {
        "days": days,
        "periods": TREND_PERIODS,
        "has_data": any(counts["total"] for counts in overview.values()),
        "cards": overview_cards(overview),
        "trend": trend_chart(values["trends"]),
        "health": values["health"],
        "tiers": health_by_tier(values["health"]),
        "by_priority": bar_rows(
            by_priority, "priority", Priority.choices, "by_priority", _PRIORITY_TONES
        ),
        "by_status": bar_rows(
            by_status, "status", Issue.Status.choices, "by_status", _STATUS_TONES
        ),
        "open_issue_count": sum(row["count"] for row in by_priority),
        "issue_count": sum(row["count"] for row in by_status),
        "upcoming": _upcoming(values["upcoming"]),
        "activity": _activity(values["activity"]),
        "sla": _sla(values["sla"]),
        "success": _success(values["success"]),
        "critical_apps": {
            **values["critical_apps"],
            "applications": [
                _with_datetimes(a, "calculatedAt") for a in values["critical_apps"]["applications"]
            ],
        },
        "by_item": values["by_item"],
        "cloud": _cloud(values["cloud"]),
        "config": _script_config(days),
    }
    return context, statuses


@never_cache
@require_GET
@login_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("dashboard.view_dashboard"):
        # One cached value per tenant: gated by role, before the cache is touched. A page
        # (a requester lands here after logging in), not the API's JSON 403.
        return render(request, "dashboard/forbidden.html", status=403)
    days = trend_days(request.GET.get("days"))
    try:
        context, statuses = dashboard_context(days)
    except (OperationalError, InterfaceError):
        # The cache may hold some sections, but a half-empty dashboard would mislead.
        logger.exception("Dashboard unavailable", extra={"tenant": request.tenant.schema_name})
        return render(request, "dashboard/unavailable.html", status=503)
    if request.user.is_staff:
        context["config"]["admin"] = {"index": reverse("admin:index"), "models": ADMIN_MODELS}
    response = render(request, "dashboard/index.html", context)
    response["X-Cache"] = _cache_summary(statuses)
    response["X-Cache-Entries"] = ", ".join(f"{k}={v}" for k, v in statuses.items())
    return response
