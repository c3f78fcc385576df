"""Realistic demo data for a tenant, built with the apps' factories and bulk-inserted.

Fast enough for 100,000 issues per tenant: rows are built in memory (factory-boy's
``build``, with every slow declaration overridden) and written with batched bulk_create.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from applications.factories import ApplicationFactory
from applications.models import Application, ApplicationHealthScore
from changes.factories import CHANGE_TEMPLATES, ChangeFactory
from changes.models import Change
from cloud.models import CloudCostReport, CloudProvider, PeriodType
from firelater.factories import UserFactory
from firelater.models import Priority
from firelater.roles import AGENT, REQUESTER, user_roles, user_roles_set
from issues.factories import ISSUE_TEMPLATES, IssueFactory
from issues.models import Issue
from requests_app.factories import CATALOG, REQUEST_TEMPLATES, RequestFactory
from requests_app.models import CatalogItem, Request

BATCH_SIZE = 5_000
HISTORY_DAYS = 90
HEALTH_HISTORY_DAYS = 30
HEALTH_SAMPLES_PER_DAY = 3

PRIORITY_WEIGHTS = {Priority.CRITICAL: 5, Priority.HIGH: 20, Priority.MEDIUM: 45, Priority.LOW: 30}
TEAMS = ["finance", "sales", "support", "engineering", "marketing", "operations"]


@dataclass(frozen=True)
class DemoSize:
    issues: int = 5_000
    changes: int | None = None  # default: issues / 5
    requests: int | None = None  # default: issues / 5
    applications: int = 30
    agents: int = 12


@dataclass(frozen=True)
class DemoCounts:
    users: int
    applications: int
    health_scores: int
    issues: int
    changes: int
    requests: int
    catalog_items: int = 0
    cost_reports: int = 0


CLOUD_ACCOUNTS = [
    (CloudProvider.AWS, "production", 42_000),
    (CloudProvider.AWS, "staging", 6_500),
    (CloudProvider.AZURE, "corporate-it", 18_000),
    (CloudProvider.GCP, "data-platform", 11_000),
]
COST_MONTHS = 13


def _batched(rows: Iterator, size: int = BATCH_SIZE) -> Iterator[list]:  # type: ignore[type-arg]
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _created_at(rng: random.Random, now: datetime) -> datetime:
    # More recent days are busier: triangular distribution weighted to "now".
    age_days = rng.triangular(0, HISTORY_DAYS, 0)
    return now - timedelta(days=age_days, minutes=rng.randint(0, 59))


def _issue_rows(n, rng, now, users, apps, reporters) -> Iterator[Issue]:  # type: ignore[no-untyped-def]
    priorities, weights = zip(*PRIORITY_WEIGHTS.items(), strict=True)
    for _ in range(n):
        created = _created_at(rng, now)
        age_days = (now - created).total_seconds() / 86400
        priority = rng.choices(priorities, weights)[0]
        # Older issues are mostly done; recent ones mostly still open.
        done_probability = min(0.95, 0.25 + age_days / 12)
        if rng.random() < done_probability:
            status = Issue.Status.CLOSED if rng.random() < 0.55 else Issue.Status.RESOLVED
            resolved = min(now, created + timedelta(hours=rng.expovariate(1 / 20)))
        else:
            status = rng.choice(Issue.OPEN_STATUSES)
            resolved = None
        app = rng.choice(apps) if apps and rng.random() < 0.9 else None
        yield IssueFactory.build(
            title=rng.choice(ISSUE_TEMPLATES).format(app=app.name if app else "the intranet"),
            description="",
            status=status,
            priority=priority,
            application=app,
            reporter=rng.choice(reporters),
            assignee=rng.choice(users) if status != Issue.Status.NEW else None,
            created_at=created,
            # Last touched some time after creation, never in the future.
            updated_at=resolved or created + (now - created) * rng.uniform(0, 0.3),
            resolved_at=resolved,
            sla_due_at=Issue.sla_due(priority, created),
        )


def _change_rows(n, rng, now, apps) -> Iterator[Change]:  # type: ignore[no-untyped-def]
    for _ in range(n):
        created = _created_at(rng, now)
        start = created + timedelta(days=rng.uniform(1, 21), hours=rng.randint(0, 23))
        end = start + timedelta(hours=rng.choice([1, 2, 4, 8]))
        if end < now:
            status = rng.choices(
                [
                    Change.Status.COMPLETED,
                    Change.Status.CLOSED,
                    Change.Status.FAILED,
                    Change.Status.ROLLED_BACK,
                    Change.Status.CANCELLED,
                    Change.Status.REJECTED,
                ],
                [60, 20, 5, 4, 7, 4],
            )[0]
        elif start <= now:
            status = Change.Status.IMPLEMENTING
        else:
            status = rng.choice(
                [
                    Change.Status.DRAFT,
                    Change.Status.SUBMITTED,
                    Change.Status.REVIEW,
                    Change.Status.APPROVED,
                    Change.Status.SCHEDULED,
                    Change.Status.SCHEDULED,
                ]
            )
        app = rng.choice(apps) if apps else None
        # A closed change ended first: mostly successfully.
        outcome = None
        if status == Change.Status.CLOSED:
            outcome = rng.choices(list(Change.Outcome), [90, 6, 4])[0]
        elif status == Change.Status.COMPLETED:
            outcome = rng.choices(list(Change.Outcome), [96, 2, 2])[0]
        elif status in (Change.Status.FAILED, Change.Status.ROLLED_BACK):
            rolled_back = status == Change.Status.ROLLED_BACK
            outcome = Change.Outcome.ROLLED_BACK if rolled_back else Change.Outcome.FAILED
        yield ChangeFactory.build(
            outcome=outcome,
            completed_at=end if outcome else None,
            title=rng.choice(CHANGE_TEMPLATES).format(app=app.name if app else "core network"),
            status=status,
            risk=rng.choices(list(Change.Risk), [50, 30, 15, 5])[0],
            type=rng.choices(list(Change.Type), [40, 50, 10])[0],
            application=app,
            created_at=created,
            updated_at=min(now, end) if end < now else created,
            scheduled_start=start,
            scheduled_end=end,
        )


def _request_rows(n, rng, now, users, items) -> Iterator[Request]:  # type: ignore[no-untyped-def]
    priorities, weights = zip(*PRIORITY_WEIGHTS.items(), strict=True)
    for _ in range(n):
        created = _created_at(rng, now)
        age_days = (now - created).total_seconds() / 86400
        fulfilled = None
        if rng.random() < min(0.9, 0.2 + age_days / 10):
            status = rng.choices(
                [Request.Status.FULFILLED, Request.Status.REJECTED, Request.Status.CANCELLED],
                [85, 8, 7],
            )[0]
            if status == Request.Status.FULFILLED:
                fulfilled = min(now, created + timedelta(hours=rng.expovariate(1 / 30)))
        else:
            status = rng.choice(Request.OPEN_STATUSES)
        # Most requests come from the catalog; their title says what and for whom.
        item = rng.choice(items) if items and rng.random() < 0.85 else None
        who = rng.choice(TEAMS)
        title = f"{item.name} for {who}" if item else rng.choice(REQUEST_TEMPLATES).format(who=who)
        yield RequestFactory.build(
            title=title,
            catalog_item=item,
            status=status,
            priority=rng.choices(priorities, weights)[0],
            requester=rng.choice(users),
            created_at=created,
            updated_at=fulfilled or created,
            due_at=created + timedelta(days=rng.choice([2, 3, 5, 10])),
            fulfilled_at=fulfilled,
        )


def _cost_rows(rng, now) -> Iterator[CloudCostReport]:  # type: ignore[no-untyped-def]
    """A monthly bill per account for the last COST_MONTHS months (this one so far), and
    daily reports for this month (a tenant whose provider bills daily has only those)."""
    this_month = now.date().replace(day=1)
    for provider, account, base in CLOUD_ACCOUNTS:
        previous = None
        for back in range(COST_MONTHS - 1, -1, -1):
            index = this_month.year * 12 + this_month.month - 1 - back
            month = this_month.replace(year=index // 12, month=index % 12 + 1)
            growth = 1 + 0.02 * (COST_MONTHS - back)
            cost = Decimal(base * growth * rng.uniform(0.85, 1.15)).quantize(Decimal("0.01"))
            if back == 0:
                cost = (cost * now.day / 30).quantize(Decimal("0.01"))  # the month so far
            change = (cost - previous) * 100 / previous if previous else None
            yield CloudCostReport(
                provider=provider,
                account=account,
                period_start=month,
                period_type=PeriodType.MONTHLY,
                total_cost=cost,
                currency="USD",
                change_percent=change.quantize(Decimal("0.01")) if change is not None else None,
            )
            previous = cost


def _health_rows(rng, now, apps) -> Iterator[ApplicationHealthScore]:  # type: ignore[no-untyped-def]
    samples = HEALTH_HISTORY_DAYS * HEALTH_SAMPLES_PER_DAY
    step = timedelta(hours=24 / HEALTH_SAMPLES_PER_DAY)
    for app in apps:
        if rng.random() < 0.05:
            continue  # a few applications have never been scored: "unknown"
        score = rng.choice([95, 90, 85, 75, 60, 40])
        for i in range(samples):
            score = max(0, min(100, score + rng.randint(-6, 6)))
            yield ApplicationHealthScore(
                application=app, score=score, calculated_at=now - (samples - i) * step
            )


@transaction.atomic
def demo_role_users_ensure(*, users: dict[str, str], password: str) -> None:
    """The demo's logins, one per role, in the current tenant (idempotent)."""
    for username, role in users.items():
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        if user_roles(user) != [role]:
            user_roles_set(user=user, roles=[role])


@transaction.atomic
def seed_tenant_demo(*, size: DemoSize, seed: int = 42) -> DemoCounts:
    """Fill the current tenant's schema with demo data (call inside a tenant context)."""
    rng = random.Random(seed)
    now = timezone.now()
    users = [UserFactory(username=f"agent{i + 1}", roles=[AGENT]) for i in range(size.agents)]
    users += list(get_user_model().objects.filter(is_staff=True))
    # Requesters file issues and requests (and see those), agents work them.
    reporters = users + list(get_user_model().objects.filter(groups__name=REQUESTER))

    apps = Application.objects.bulk_create(
        ApplicationFactory.build(name=f"{name_seed} {i + 1}", description="")
        for i, name_seed in enumerate(
            rng.choice(
                [
                    "Payments",
                    "Portal",
                    "Billing",
                    "HR",
                    "Warehouse",
                    "Identity",
                    "Mail",
                    "Inventory",
                    "Mobile",
                    "Search",
                    "CRM",
                    "Logistics",
                ]
            )
            for _ in range(size.applications)
        )
    )
    health = 0
    for batch in _batched(_health_rows(rng, now, apps)):
        health += len(ApplicationHealthScore.objects.bulk_create(batch))

    n_changes = size.changes if size.changes is not None else size.issues // 5
    n_requests = size.requests if size.requests is not None else size.issues // 5
    issues = changes = requests = 0
    for batch in _batched(_issue_rows(size.issues, rng, now, users, apps, reporters)):
        issues += len(Issue.objects.bulk_create(batch))
    for batch in _batched(_change_rows(n_changes, rng, now, apps)):
        changes += len(Change.objects.bulk_create(batch))
    items = CatalogItem.objects.bulk_create(
        CatalogItem(name=name, category=category, fulfilment_target_hours=hours)
        for name, category, hours in CATALOG
    )
    for batch in _batched(_request_rows(n_requests, rng, now, reporters, items)):
        requests += len(Request.objects.bulk_create(batch))
    reports = CloudCostReport.objects.bulk_create(_cost_rows(rng, now))
    return DemoCounts(
        len(users), len(apps), health, issues, changes, requests, len(items), len(reports)
    )
