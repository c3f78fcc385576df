"""Shared by the page and browser tests: a small world of records, and the dashboard's
figures read two ways (from the page's data-field elements and from the JSON API)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.utils import timezone

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from cloud.factories import CloudCostReportFactory
from dashboard.pages import SECTIONS
from issues.factories import IssueFactory
from requests_app.factories import CatalogItemFactory, RequestFactory

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

# Each section the page shows, by its API path with the page's parameters (as its script
# fetches them).
API_PATHS = {
    name: entry.default_url.removeprefix("/api/v1/dashboard/") for name, entry in SECTIONS.items()
}


def build_small_world(reporter: Any) -> None:
    """Records of every kind in the current tenant: open and done issues of several
    priorities, applications in three tiers and health buckets, upcoming changes."""
    now = timezone.now()
    apps = [
        ApplicationFactory(name="Payments", tier=1),
        ApplicationFactory(name="Portal", tier=2),
        ApplicationFactory(name="Wiki", tier=3),
        ApplicationFactory(name="Unscored", tier=4),
    ]
    for app, score in zip(apps, (95, 62, 31), strict=False):
        ApplicationHealthScoreFactory(application=app, score=score, calculated_at=now - HOUR)

    def issue(status: str, priority: str, age: dt.timedelta, **extra: Any) -> None:
        created = now - age
        IssueFactory(
            reporter=reporter,
            status=status,
            priority=priority,
            created_at=created,
            updated_at=created,
            application=apps[0],
            **extra,
        )

    issue("new", "critical", 2 * HOUR, title="Card payments declined")
    issue("assigned", "critical", 3 * DAY, sla_due_at=now - 2 * DAY)  # past its SLA
    issue("in_progress", "high", 5 * DAY)
    issue("pending", "low", 6 * DAY)
    issue("resolved", "medium", 4 * DAY, resolved_at=now - 3 * DAY)
    issue("closed", "high", 9 * DAY, resolved_at=now - 8 * DAY)
    ChangeFactory(
        title="Rotate TLS certificates",
        status="approved",
        risk="high",
        scheduled_start=now + DAY,
        application=apps[1],
    )
    ChangeFactory(title="Patch the wiki", status="scheduled", scheduled_start=now + 3 * DAY)
    ChangeFactory(
        title="Upgrade the portal",
        status="completed",
        scheduled_start=now - 2 * HOUR,
        created_at=now - DAY,
        completed_at=now - HOUR,
    )
    ChangeFactory(
        title="Move the mail relay",
        status="rolled_back",
        scheduled_start=now - 3 * HOUR,
        created_at=now - DAY,
        completed_at=now - HOUR,
    )
    laptop = CatalogItemFactory(name="Laptop", fulfilment_target_hours=72)
    vpn = CatalogItemFactory(name="VPN access", fulfilment_target_hours=8)
    RequestFactory(
        requester=reporter, title="New laptop", status="pending_approval", catalog_item=laptop
    )
    RequestFactory(requester=reporter, title="VPN access", status="in_progress", catalog_item=vpn)
    RequestFactory(
        requester=reporter,
        title="VPN access for the auditors",
        status="fulfilled",
        catalog_item=vpn,
        created_at=now - DAY,
    )
    month = timezone.localdate().replace(day=1)
    CloudCostReportFactory(provider="aws", account="production", period_start=month)
    CloudCostReportFactory(
        provider="aws",
        account="production",
        period_start=(month - DAY).replace(day=1),
    )
    CloudCostReportFactory(provider="gcp", account="data", period_start=month)


def figures_from_api(get: Callable[[str], Any]) -> dict[str, int]:
    """{data-field path: number} computed from the API's JSON (get(path) -> decoded JSON)."""
    sections = {name: get(path) for name, path in API_PATHS.items()}
    figures: dict[str, int] = {}
    for group, counts in sections["overview"].items():
        for name, value in counts.items():
            figures[f"overview.{group}.{name}"] = value
    for row in sections["by_priority"]:
        figures[f"by_priority.{row['priority']}"] = row["count"]
    for row in sections["by_status"]:
        figures[f"by_status.{row['status']}"] = row["count"]
    health = sections["health"]
    for status, count in health["buckets"].items():
        figures[f"health.buckets.{status}"] = count
    tiers: dict[int, Mapping[str, int]] = {row["tier"]: row for row in health["byTier"]}
    for tier in (1, 2, 3, 4):
        counts = {s: tiers.get(tier, {}).get(s, 0) for s in health["buckets"]}
        for status, count in counts.items():
            figures[f"health.tiers.{tier}.{status}"] = count
        figures[f"health.tiers.{tier}.total"] = sum(counts.values())
    figures["upcoming.total"] = sections["upcoming"]["total"]
    for row in sections["sla"]:
        for name in ("total", "breached"):
            figures[f"sla.{row['priority']}.{name}"] = row[name]
    figures["sla.total"] = sum(row["total"] for row in sections["sla"])
    for name in ("completed", "successful", "failed", "rolledBack"):
        figures[f"success.totals.{name}"] = sum(day[name] for day in sections["success"])
    figures["critical_apps.total"] = sections["critical_apps"]["total"]
    return figures


_FIELD = re.compile(r'data-field="([^"]+)"[^>]*>\s*([^<]*?)\s*<')


def figures_in_html(html: str) -> dict[str, int]:
    """{data-field path: number} as written in the page (thousands separators removed)."""
    return {path: int(text.replace(",", "")) for path, text in _FIELD.findall(html)}
