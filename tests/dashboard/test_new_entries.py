"""The five entries of #14: SLA compliance, change success rate, critical applications,
requests by catalog item and cloud costs. Their bodies, their parameters, their figures
against an independent recount on random data, their invalidation and tenant isolation."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from applications.models import Application, ApplicationHealthScore
from changes.factories import ChangeFactory
from changes.models import Change
from cloud.factories import CloudCostReportFactory
from cloud.models import CloudCostReport
from dashboard import entries
from firelater.factories import UserFactory
from firelater.models import Priority
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.factories import CatalogItemFactory, RequestFactory
from requests_app.models import CatalogItem, Request

NEW = (
    entries.SLA_COMPLIANCE,
    entries.CHANGE_SUCCESS,
    entries.CRITICAL_APPLICATIONS,
    entries.REQUESTS_BY_ITEM,
    entries.CLOUD_COSTS,
)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
RANDOM_DATA = hypothesis_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _status(acme_api: Any, entry: entries.DashboardEntry) -> str:
    return acme_api.get(entry.url)["X-Cache"]


def _fetch(entry: entries.DashboardEntry, **params: Any) -> Any:
    """The entry's body as the API sends it, computed now (no cache)."""
    value = entry.cache.fetch(**{**entry.cache.default_params, **params})  # type: ignore[misc]
    return getattr(value, "value", value)


# --- MISS then HIT, parameters ---------------------------------------------------------------


@pytest.mark.parametrize("entry", NEW, ids=[e.name for e in NEW])
def test_each_new_entry_answers_miss_then_hit_with_json(acme_api, entry):
    first = acme_api.get(entry.url)
    assert (first.status_code, first["X-Cache"]) == (200, "MISS")
    second = acme_api.get(entry.url)
    assert (second["X-Cache"], second.json()) == ("HIT", first.json())
    assert first["Content-Type"] == "application/json"


def _bad_values(entry: entries.DashboardEntry) -> list[tuple[str, str]]:
    assert entry.params is not None
    bad = []
    for name, field in entry.params().fields.items():
        bad += [
            (name, "abc"),
            (name, "1.5"),
            (name, str(field.min_value - 1)),
            (name, str(field.max_value + 1)),
            (name, "9" * 30),
        ]
    return bad


@pytest.mark.parametrize(
    ("entry", "name", "value"),
    [(e, n, v) for e in NEW for n, v in _bad_values(e)],
    ids=[f"{e.name}-{n}={v[:6]}" for e in NEW for n, v in _bad_values(e)],
)
def test_a_non_numeric_or_out_of_range_parameter_is_a_json_400_naming_it(
    acme_api, entry, name, value
):
    response = acme_api.get(f"{entry.url}?{name}={value}")
    assert response.status_code == 400
    assert name in response.json()


@pytest.mark.parametrize("entry", NEW, ids=[e.name for e in NEW])
def test_the_schema_documents_each_parameters_range(acme_api, entry):
    schema = acme_api.get("/api/schema/?format=json").json()
    operation = schema["paths"][entry.url]["get"]
    documented = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    for name, field in entry.params().fields.items():
        assert f"({field.min_value} to {field.max_value})" in documented[name]["description"]
        assert documented[name]["schema"]["default"] == field.default
    assert "400" in operation["responses"]


# --- Figures on a known world ----------------------------------------------------------------


def test_sla_compliance_counts_breaches_by_resolution_or_by_the_clock(in_acme):
    now, user = timezone.now(), UserFactory()

    def issue(priority: str, sla_in: dt.timedelta, resolved_in: dt.timedelta | None) -> None:
        created = now - 2 * DAY
        IssueFactory(
            reporter=user,
            priority=priority,
            status="resolved" if resolved_in is not None else "new",
            created_at=created,
            updated_at=created,
            sla_due_at=created + sla_in,
            resolved_at=created + resolved_in if resolved_in is not None else None,
        )

    issue("critical", 4 * HOUR, 2 * HOUR)  # met
    issue("critical", 4 * HOUR, 5 * HOUR)  # resolved late: breached
    issue("critical", 4 * HOUR, None)  # open past its SLA: breached
    issue("low", 3 * DAY, None)  # open, SLA still ahead: within
    IssueFactory(reporter=user, priority="high", created_at=now - 40 * DAY, sla_due_at=now)
    body = _fetch(entries.SLA_COMPLIANCE)
    assert body == [
        {"priority": "critical", "total": 3, "withinSla": 1, "breached": 2, "complianceRate": 33.3},
        {"priority": "high", "total": 0, "withinSla": 0, "breached": 0, "complianceRate": None},
        {"priority": "medium", "total": 0, "withinSla": 0, "breached": 0, "complianceRate": None},
        {"priority": "low", "total": 1, "withinSla": 1, "breached": 0, "complianceRate": 100.0},
    ]
    assert len(_fetch(entries.SLA_COMPLIANCE, days=60)) == 4


def test_sla_compliance_is_kept_only_until_the_next_open_issue_breaches(acme_api, in_acme):
    from django_redis import get_redis_connection

    due = timezone.now() + dt.timedelta(seconds=30)
    IssueFactory(reporter=UserFactory(), priority="critical", sla_due_at=due)
    assert acme_api.get(entries.SLA_COMPLIANCE.url)["X-Cache"] == "MISS"
    keys = list(get_redis_connection().scan_iter("cache:{acme}:dashboard:sla_compliance*"))
    ttls = [get_redis_connection().ttl(key) for key in keys]
    assert ttls
    assert 0 < max(ttls) <= 30


def test_change_success_rate_counts_outcomes_per_day_and_zero_fills(in_acme):
    now = timezone.now()
    for outcome in ("successful", "successful", "successful", "failed"):
        ChangeFactory(status="completed", outcome=outcome, completed_at=now, created_at=now - DAY)
    ChangeFactory(status="rolled_back", completed_at=now - DAY, created_at=now - 2 * DAY)
    ChangeFactory(status="closed", outcome="successful", completed_at=now, created_at=now - DAY)
    ChangeFactory(status="implementing")  # not ended: not counted
    body = _fetch(entries.CHANGE_SUCCESS, days=7)
    assert len(body) == 7
    assert body[-1] == {
        "date": timezone.localdate(now).isoformat(),
        "completed": 5,
        "successful": 4,
        "failed": 1,
        "rolledBack": 0,
        "successRate": 80.0,
    }
    yesterday = body[-2] if timezone.localdate(now - DAY) != timezone.localdate(now) else body[-1]
    assert yesterday["rolledBack"] == 1
    assert body[0] == {
        "date": body[0]["date"],
        "completed": 0,
        "successful": 0,
        "failed": 0,
        "rolledBack": 0,
        "successRate": None,
    }


def test_critical_applications_lowest_first_with_their_trend_and_total(in_acme):
    now = timezone.now()

    def scored(name: str, *scores: int) -> Application:
        app = ApplicationFactory(name=name, tier=2)
        for age, score in enumerate(reversed(scores)):
            ApplicationHealthScoreFactory(
                application=app, score=score, calculated_at=now - age * HOUR
            )
        return app

    worse = scored("Billing", 40, 20)  # declining
    better = scored("Portal", 10, 30)  # improving
    scored("Mail", 45)  # a single score: no trend
    scored("Search", 90, 49)  # declining into critical
    scored("Wiki", 20, 60)  # recovered: not critical
    ApplicationFactory(name="Unscored")
    body = _fetch(entries.CRITICAL_APPLICATIONS, limit=2)
    assert body["total"] == 4
    assert [(a["name"], a["score"], a["trend"]) for a in body["applications"]] == [
        ("Billing", 20, "declining"),
        ("Portal", 30, "improving"),
    ]
    assert body["applications"][0]["id"] == worse.id
    assert body["applications"][1]["tier"] == better.tier == 2
    full = _fetch(entries.CRITICAL_APPLICATIONS, limit=100)["applications"]
    assert [(a["name"], a["trend"]) for a in full[2:]] == [("Mail", None), ("Search", "declining")]


def test_requests_by_item_count_fulfilment_and_the_items_target(in_acme):
    now, user = timezone.now(), UserFactory()
    laptop = CatalogItemFactory(name="Laptop", fulfilment_target_hours=48)
    vpn = CatalogItemFactory(name="VPN", fulfilment_target_hours=4)

    def request(item: CatalogItem | None, fulfilled_after: dt.timedelta | None, age=DAY) -> None:
        created = now - age
        RequestFactory(
            requester=user,
            catalog_item=item,
            created_at=created,
            updated_at=created,
            status="fulfilled" if fulfilled_after is not None else "submitted",
            fulfilled_at=created + fulfilled_after if fulfilled_after is not None else None,
        )

    request(laptop, 24 * HOUR)  # within 48 h
    request(laptop, 72 * HOUR, age=4 * DAY)  # late
    request(laptop, None)
    request(vpn, 2 * HOUR)
    request(None, HOUR)  # no catalog item: not counted
    request(vpn, HOUR, age=40 * DAY)  # outside the 30 days
    body = _fetch(entries.REQUESTS_BY_ITEM)
    assert body == [
        {
            "item": {"id": laptop.id, "name": "Laptop"},
            "count": 3,
            "fulfilled": 2,
            "fulfilmentRate": 66.7,
            "withinTarget": 1,
        },
        {
            "item": {"id": vpn.id, "name": "VPN"},
            "count": 1,
            "fulfilled": 1,
            "fulfilmentRate": 100.0,
            "withinTarget": 1,
        },
    ]
    assert _fetch(entries.REQUESTS_BY_ITEM, limit=1) == body[:1]


def test_cloud_costs_are_decimal_strings_per_month_with_a_provider_split(in_acme):
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - DAY).replace(day=1)
    CloudCostReportFactory(
        provider="aws", account="prod", period_start=last_month, total_cost=Decimal("1000.10")
    )
    CloudCostReportFactory(
        provider="aws", account="prod", period_start=this_month, total_cost=Decimal("1200.00")
    )
    CloudCostReportFactory(
        provider="gcp", account="data", period_start=this_month, total_cost=Decimal("300.05")
    )
    # Daily reports count only for an account without a monthly one that month.
    CloudCostReportFactory(
        provider="gcp",
        account="data",
        period_type="daily",
        period_start=this_month,
        total_cost=Decimal("999.00"),
    )
    CloudCostReportFactory(
        provider="azure",
        account="it",
        period_type="daily",
        period_start=this_month,
        total_cost=Decimal("10.00"),
    )
    CloudCostReportFactory(
        provider="azure",
        account="it",
        period_type="daily",
        period_start=this_month + DAY,
        total_cost=Decimal("5.50"),
    )
    body = _fetch(entries.CLOUD_COSTS, months=3)
    assert [row["month"] for row in body] == [
        f"{m:%Y-%m}" for m in ((last_month - DAY).replace(day=1), last_month, this_month)
    ]
    assert body[0]["totalCost"] == "0.00"
    assert body[0]["changePercent"] is None
    assert body[1]["totalCost"] == "1000.10"
    assert body[-1] == {
        "month": f"{this_month:%Y-%m}",
        "currency": "USD",
        "totalCost": "1515.55",
        "changePercent": 51.5,
        "providers": [
            {"provider": "aws", "totalCost": "1200.00"},
            {"provider": "azure", "totalCost": "15.50"},
            {"provider": "gcp", "totalCost": "300.05"},
        ],
    }


def test_with_no_data_the_bodies_are_empty_or_zero(in_acme):
    assert [row["total"] for row in _fetch(entries.SLA_COMPLIANCE)] == [0, 0, 0, 0]
    assert {row["completed"] for row in _fetch(entries.CHANGE_SUCCESS)} == {0}
    assert _fetch(entries.CRITICAL_APPLICATIONS) == {"total": 0, "applications": []}
    assert _fetch(entries.REQUESTS_BY_ITEM) == []
    assert _fetch(entries.CLOUD_COSTS) == []


# --- Random data, recounted independently --------------------------------------------------

_moments = st.integers(min_value=-45 * 24, max_value=2 * 24).map(lambda h: dt.timedelta(hours=h))
_maybe_after = st.one_of(st.none(), st.integers(0, 120).map(lambda h: dt.timedelta(hours=h)))


def _local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


def _window_start(days: int) -> dt.datetime:
    first = _local_day(timezone.now()) - dt.timedelta(days=days - 1)
    return dt.datetime.combine(first, dt.time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@RANDOM_DATA
@given(
    issues=st.lists(
        st.tuples(st.sampled_from(Priority.values), _moments, _maybe_after, st.integers(1, 72)),
        max_size=25,
    ),
    days=st.integers(1, 40),
)
@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Kolkata"])  # a window starting mid-hour
def test_sla_compliance_equals_a_recount(in_acme, settings, time_zone, issues, days):
    settings.TIME_ZONE = time_zone
    Issue.objects.all().delete()
    now, user = timezone.now(), UserFactory()
    for priority, created_in, resolved_after, sla_hours in issues:
        created = min(now, now + created_in)
        resolved = created + resolved_after if resolved_after is not None else None
        if resolved is not None and resolved > now:
            resolved = None
        IssueFactory(
            reporter=user,
            priority=priority,
            status="resolved" if resolved else "new",
            created_at=created,
            updated_at=created,
            resolved_at=resolved,
            sla_due_at=created + dt.timedelta(hours=sla_hours),
        )
    assert _fetch(entries.SLA_COMPLIANCE, days=days) == _sla_recount(days)


def _sla_recount(days: int) -> list[dict[str, Any]]:
    start, now = _window_start(days), timezone.now()
    expected = []
    for priority in Priority.values:
        rows = Issue.objects.filter(
            priority=priority, created_at__gte=start, sla_due_at__isnull=False
        )
        total = len(rows)
        breached = sum(
            1
            for i in rows
            if (i.resolved_at and i.resolved_at > i.sla_due_at)
            or (i.resolved_at is None and i.sla_due_at < now)
        )
        expected.append(
            {
                "priority": priority,
                "total": total,
                "withinSla": total - breached,
                "breached": breached,
                "complianceRate": _rate(total - breached, total),
            }
        )
    return expected


def test_the_sla_summary_stays_exact_through_every_kind_of_write(in_acme):
    """issues_sla_hourly is kept by triggers: bulk updates, bulk_update, raw SQL, deletes
    and TRUNCATE all leave the figures equal to a recount."""
    from django.db import connection

    now, user = timezone.now(), UserFactory()
    issues = [
        IssueFactory(
            reporter=user,
            priority=priority,
            created_at=now - age * HOUR,
            updated_at=now - age * HOUR,
            sla_due_at=now - age * HOUR + 4 * HOUR,
        )
        for age, priority in enumerate(["critical", "high", "low", "medium"] * 5)
    ]
    assert _fetch(entries.SLA_COMPLIANCE) == _sla_recount(30)
    Issue.objects.filter(priority="low").update(priority="critical")
    assert _fetch(entries.SLA_COMPLIANCE) == _sla_recount(30)
    for issue in issues[:6]:
        issue.status, issue.resolved_at = "resolved", issue.sla_due_at + HOUR  # late
    Issue.objects.bulk_update(issues[:6], ["status", "resolved_at"])
    assert _fetch(entries.SLA_COMPLIANCE) == _sla_recount(30)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE issues_issue SET sla_due_at = NULL WHERE priority = 'high'")
        cursor.execute(
            "UPDATE issues_issue SET created_at = created_at - interval '40 days' "
            "WHERE priority = 'medium'"
        )
    assert _fetch(entries.SLA_COMPLIANCE) == _sla_recount(30)
    Issue.objects.filter(priority="critical")[:1].get().delete()
    Issue.objects.filter(status="resolved").delete()
    assert _fetch(entries.SLA_COMPLIANCE) == _sla_recount(30)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks: TRUNCATE may run
        cursor.execute("TRUNCATE issues_issue CASCADE")
        cursor.execute("SELECT count(*) FROM issues_sla_hourly")
        assert cursor.fetchone() == (0,)
    assert [row["total"] for row in _fetch(entries.SLA_COMPLIANCE)] == [0, 0, 0, 0]


@RANDOM_DATA
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    ("completed", "successful"),
                    ("completed", "failed"),
                    ("failed", "failed"),
                    ("rolled_back", "rolled_back"),
                    ("closed", "successful"),
                    ("closed", None),
                    ("implementing", None),
                ]
            ),
            st.integers(0, 40 * 24).map(lambda h: dt.timedelta(hours=h)),
        ),
        max_size=25,
    ),
    days=st.integers(1, 45),
)
@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Kathmandu"])  # midnight at :15 UTC
def test_change_success_rate_equals_a_recount(in_acme, settings, time_zone, changes, days):
    settings.TIME_ZONE = time_zone
    Change.objects.all().delete()
    now = timezone.now()
    for (status, outcome), ago in changes:
        ChangeFactory(
            status=status,
            outcome=outcome,
            completed_at=now - ago if outcome else None,
            created_at=now - ago - HOUR,
        )
    assert _fetch(entries.CHANGE_SUCCESS, days=days) == _success_recount(days)


def _success_recount(days: int) -> list[dict[str, Any]]:
    first = _local_day(timezone.now()) - dt.timedelta(days=days - 1)
    per_day: dict[dt.date, list[str]] = {}
    for change in Change.objects.exclude(outcome=None):
        per_day.setdefault(_local_day(change.completed_at), []).append(change.outcome)
    expected = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        outcomes = per_day.get(day, [])
        expected.append(
            {
                "date": day.isoformat(),
                "completed": len(outcomes),
                "successful": outcomes.count("successful"),
                "failed": outcomes.count("failed"),
                "rolledBack": outcomes.count("rolled_back"),
                "successRate": _rate(outcomes.count("successful"), len(outcomes)),
            }
        )
    return expected


def test_the_change_summary_stays_exact_through_every_kind_of_write(in_acme):
    from django.db import connection

    now = timezone.now()
    ended = [
        ChangeFactory(status="completed", completed_at=now - age * HOUR, created_at=now - DAY * 3)
        for age in range(12)
    ]
    ChangeFactory.create_batch(3, status="implementing")
    assert _fetch(entries.CHANGE_SUCCESS) == _success_recount(30)
    Change.objects.filter(pk__in=[c.pk for c in ended[:4]]).update(
        status="rolled_back", outcome="rolled_back"
    )
    assert _fetch(entries.CHANGE_SUCCESS) == _success_recount(30)
    for change in ended[4:6]:
        change.outcome = "failed"
    Change.objects.bulk_update(ended[4:6], ["outcome"])
    Change.objects.filter(pk=ended[6].pk).update(status="closed")  # keeps its outcome
    assert _fetch(entries.CHANGE_SUCCESS) == _success_recount(30)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE changes_change SET completed_at = completed_at - interval '2 days' "
            "WHERE outcome = 'successful'"
        )
    assert _fetch(entries.CHANGE_SUCCESS) == _success_recount(30)
    Change.objects.filter(outcome="failed").delete()
    ended[8].delete()
    assert _fetch(entries.CHANGE_SUCCESS) == _success_recount(30)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE changes_change CASCADE")
        cursor.execute("SELECT count(*) FROM changes_ended_quarterly")
        assert cursor.fetchone() == (0,)


@RANDOM_DATA
@given(
    apps=st.lists(st.lists(st.integers(0, 100), max_size=4), max_size=8),
    limit=st.integers(1, 10),
)
def test_critical_applications_equal_a_recount(in_acme, apps, limit):
    Application.objects.all().delete()
    now = timezone.now()
    for index, scores in enumerate(apps):
        app = ApplicationFactory(name=f"App {index:02d}")
        for age, score in enumerate(scores):  # the first is the latest
            ApplicationHealthScoreFactory(
                application=app, score=score, calculated_at=now - age * HOUR
            )
    critical = []
    for app in Application.objects.all():
        history = list(
            ApplicationHealthScore.objects.filter(application=app).order_by("-calculated_at", "-id")
        )
        if history and history[0].score < 50:
            previous = history[1].score if len(history) > 1 else None
            trend = None
            if previous is not None:
                trend = {True: "improving", False: "declining"}.get(
                    history[0].score > previous if history[0].score != previous else None,
                    "stable",
                )
            critical.append((history[0].score, app.name, app.id, trend))
    critical.sort()
    body = _fetch(entries.CRITICAL_APPLICATIONS, limit=limit)
    assert body["total"] == len(critical)
    assert [(a["score"], a["name"], a["id"], a["trend"]) for a in body["applications"]] == (
        critical[:limit]
    )


@RANDOM_DATA
@given(
    requests=st.lists(st.tuples(st.integers(0, 3), _moments, _maybe_after), max_size=30),
    targets=st.lists(st.integers(1, 100), min_size=3, max_size=3),
    days=st.integers(1, 40),
    limit=st.integers(1, 5),
)
@pytest.mark.parametrize("time_zone", ["UTC", "America/St_Johns"])  # midnight at 03:30 UTC
def test_requests_by_item_equal_a_recount(
    in_acme, settings, time_zone, requests, targets, days, limit
):
    settings.TIME_ZONE = time_zone
    Request.objects.all().delete()
    CatalogItem.objects.all().delete()
    now, user = timezone.now(), UserFactory()
    items = [
        CatalogItemFactory(name=f"Item {i}", fulfilment_target_hours=hours)
        for i, hours in enumerate(targets)
    ]
    for item_index, created_in, fulfilled_after in requests:
        created = min(now, now + created_in)
        fulfilled = created + fulfilled_after if fulfilled_after is not None else None
        RequestFactory(
            requester=user,
            catalog_item=items[item_index] if item_index < len(items) else None,
            created_at=created,
            updated_at=created,
            status="fulfilled" if fulfilled else "approved",
            fulfilled_at=fulfilled,
        )
    start = _window_start(days)
    rows = []
    for item in items:
        mine = [r for r in Request.objects.filter(catalog_item=item) if r.created_at >= start]
        if not mine:
            continue
        fulfilled = [r for r in mine if r.fulfilled_at is not None]
        target = dt.timedelta(hours=item.fulfilment_target_hours)
        rows.append(
            {
                "item": {"id": item.id, "name": item.name},
                "count": len(mine),
                "fulfilled": len(fulfilled),
                "fulfilmentRate": _rate(len(fulfilled), len(mine)),
                "withinTarget": sum(
                    1 for r in fulfilled if r.fulfilled_at - r.created_at <= target
                ),
            }
        )
    rows.sort(key=lambda row: (-row["count"], row["item"]["name"]))
    assert _fetch(entries.REQUESTS_BY_ITEM, days=days, limit=limit) == rows[:limit]
    # An item's new target recounts what met it; a bulk reassignment moves the counts.
    items[0].fulfilment_target_hours = 1
    items[0].save()
    CatalogItem.objects.filter(pk=items[1].pk).update(fulfilment_target_hours=500)
    Request.objects.filter(catalog_item=items[2]).update(catalog_item=items[0])
    assert (
        _fetch(entries.REQUESTS_BY_ITEM, days=days, limit=limit)
        == _by_item_recount(items, days)[:limit]
    )


def _by_item_recount(items: list[CatalogItem], days: int) -> list[dict[str, Any]]:
    start = _window_start(days)
    rows = []
    for item in CatalogItem.objects.filter(pk__in=[i.pk for i in items]):
        mine = [r for r in Request.objects.filter(catalog_item=item) if r.created_at >= start]
        if not mine:
            continue
        fulfilled = [r for r in mine if r.fulfilled_at is not None]
        target = dt.timedelta(hours=item.fulfilment_target_hours)
        rows.append(
            {
                "item": {"id": item.id, "name": item.name},
                "count": len(mine),
                "fulfilled": len(fulfilled),
                "fulfilmentRate": _rate(len(fulfilled), len(mine)),
                "withinTarget": sum(
                    1 for r in fulfilled if r.fulfilled_at - r.created_at <= target
                ),
            }
        )
    rows.sort(key=lambda row: (-row["count"], row["item"]["name"]))
    return rows


@RANDOM_DATA
@given(
    reports=st.lists(
        st.tuples(
            st.sampled_from(["aws", "gcp", "azure"]),
            st.sampled_from(["a", "b"]),
            st.integers(0, 14),  # months back
            st.sampled_from(["monthly", "daily"]),
            st.integers(1, 27),  # the day of a daily report
            st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False),
        ),
        max_size=25,
        unique_by=lambda r: (r[0], r[1], r[2], r[3], r[4] if r[3] == "daily" else 0),
    ),
    months=st.integers(1, 13),
)
def test_cloud_costs_equal_a_recount(in_acme, reports, months):
    CloudCostReport.objects.all().delete()
    this_month = timezone.localdate().replace(day=1)

    def month_back(n: int) -> dt.date:
        index = this_month.year * 12 + this_month.month - 1 - n
        return dt.date(index // 12, index % 12 + 1, 1)

    for provider, account, back, period_type, day, cost in reports:
        start = month_back(back)
        CloudCostReportFactory(
            provider=provider,
            account=account,
            period_type=period_type,
            period_start=start.replace(day=day) if period_type == "daily" else start,
            total_cost=cost,
        )
    counted: dict[tuple[dt.date, str], Decimal] = {}
    all_reports = list(CloudCostReport.objects.all())
    monthly = {
        (r.provider, r.account, r.period_start) for r in all_reports if r.period_type == "monthly"
    }
    for r in all_reports:
        month = r.period_start.replace(day=1)
        if r.period_type == "daily" and (r.provider, r.account, month) in monthly:
            continue
        counted[(month, r.provider)] = counted.get((month, r.provider), Decimal(0)) + r.total_cost
    window = [month_back(n) for n in range(months - 1, -1, -1)]
    relevant = {m for m, _p in counted if m >= month_back(months)}
    expected = []
    if relevant:
        for month in window:
            providers = {p: c for (m, p), c in counted.items() if m == month}
            total = sum(providers.values(), Decimal(0))
            previous_month = (month - DAY).replace(day=1)
            previous = sum((c for (m, _p), c in counted.items() if m == previous_month), Decimal(0))
            expected.append(
                {
                    "month": f"{month:%Y-%m}",
                    "currency": "USD",
                    "totalCost": f"{total:.2f}",
                    "changePercent": round(float((total - previous) * 100 / previous), 1)
                    if previous
                    else None,
                    "providers": [
                        {"provider": p, "totalCost": f"{c:.2f}"}
                        for p, c in sorted(providers.items())
                    ],
                }
            )
    assert _fetch(entries.CLOUD_COSTS, months=months) == expected


# --- Invalidation: exactly the writes each depends on ---------------------------------------


@pytest.fixture
def warm_new(acme_api):
    """Fill every dashboard entry; then say which of the new ones are still cached."""

    def fill() -> None:
        for entry in entries.ENTRIES:
            acme_api.get(entry.url)

    def still_cached() -> set[str]:
        return {e.name for e in NEW if acme_api.get(e.url)["X-Cache"] == "HIT"}

    fill.still_cached = still_cached  # type: ignore[attr-defined]
    return fill


ALL_NEW = {e.name for e in NEW}


def test_catalog_item_writes_through_the_api_invalidate_requests_by_item_only(
    acme_api, warm_new, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = acme_api.post(
            "/api/v1/catalog-items/",
            {"name": "Laptop", "category": "Hardware", "fulfilmentTargetHours": 48},
            format="json",
        )
    assert item.status_code == 201, item.json()
    assert item.json()["fulfilmentTargetHours"] == 48
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.patch(
            f"/api/v1/catalog-items/{item.json()['id']}/", {"active": False}, format="json"
        )
    assert warm_new.still_cached() == ALL_NEW  # active is not read
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.patch(
            f"/api/v1/catalog-items/{item.json()['id']}/", {"name": "Notebook"}, format="json"
        )
    assert warm_new.still_cached() == ALL_NEW - {"requests_by_item"}


def test_a_request_naming_an_item_through_the_api_shows_in_requests_by_item(
    acme_api, warm_new, in_acme, django_capture_on_commit_callbacks
):
    item = CatalogItemFactory(name="Monitor")
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_api.post(
            "/api/v1/requests/", {"title": "Monitor for Sam", "catalogItem": item.id}, format="json"
        )
    assert response.status_code == 201, response.json()
    assert response.json()["catalogItem"] == item.id
    assert warm_new.still_cached() == ALL_NEW - {"requests_by_item"}
    body = acme_api.get(entries.REQUESTS_BY_ITEM.url).json()
    assert [(row["item"]["name"], row["count"]) for row in body] == [("Monitor", 1)]


def test_an_unknown_catalog_item_is_a_400_and_a_used_one_cannot_be_deleted(acme_api, in_acme):
    item = CatalogItemFactory()
    response = acme_api.post(
        "/api/v1/requests/", {"title": "x", "catalogItem": 10**9}, format="json"
    )
    assert response.status_code == 400
    assert "catalogItem" in response.json()
    RequestFactory(catalog_item=item)
    deleted = acme_api.delete(f"/api/v1/catalog-items/{item.id}/")
    assert deleted.status_code == 409
    assert "deactivate" in deleted.json()["detail"]
    assert (
        acme_api.post(
            "/api/v1/catalog-items/",
            {"name": "x", "category": "y", "fulfilmentTargetHours": 0},
            format="json",
        ).status_code
        == 400
    )


def test_cloud_cost_writes_through_the_api_orm_and_bulk_invalidate_cloud_costs_only(
    acme_api, warm_new, in_acme, django_capture_on_commit_callbacks
):
    month = timezone.localdate().replace(day=1)
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_api.post(
            "/api/v1/cloud-costs/",
            {
                "provider": "aws",
                "account": "prod",
                "periodStart": month.isoformat(),
                "periodType": "monthly",
                "totalCost": "1234.50",
                "currency": "USD",
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert response.json()["totalCost"] == "1234.50"
    assert warm_new.still_cached() == ALL_NEW - {"cloud_costs"}
    assert acme_api.get(entries.CLOUD_COSTS.url).json()[-1]["totalCost"] == "1234.50"
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        CloudCostReport.objects.update(change_percent=Decimal("3.5"))  # not read
    assert warm_new.still_cached() == ALL_NEW
    with django_capture_on_commit_callbacks(execute=True):
        CloudCostReport.objects.update(total_cost=Decimal("10"))
    assert warm_new.still_cached() == ALL_NEW - {"cloud_costs"}
    assert acme_api.get(entries.CLOUD_COSTS.url).json()[-1]["totalCost"] == "10.00"
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        CloudCostReport.objects.bulk_create([CloudCostReportFactory.build(period_start=month)])
    assert warm_new.still_cached() == ALL_NEW - {"cloud_costs"}


def test_a_monthly_report_must_start_on_the_first(acme_api):
    response = acme_api.post(
        "/api/v1/cloud-costs/",
        {"provider": "aws", "account": "p", "periodStart": "2026-05-02", "totalCost": "1"},
        format="json",
    )
    assert response.status_code == 400
    assert "periodStart" in response.json()


def test_a_change_ending_through_the_api_invalidates_the_success_rate(
    acme_api, warm_new, in_acme, django_capture_on_commit_callbacks
):
    change = ChangeFactory(status="implementing")
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_api.patch(
            f"/api/v1/changes/{change.id}/", {"status": "completed"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["outcome"] == "successful"
    assert warm_new.still_cached() == ALL_NEW - {"change_success"}
    assert acme_api.get(entries.CHANGE_SUCCESS.url).json()[-1]["successful"] == 1


def test_the_admins_edit_and_bulk_action_invalidate_the_new_entries(
    acme_browser, acme_api, warm_new, in_acme, django_capture_on_commit_callbacks
):
    change = ChangeFactory(status="implementing")
    item = CatalogItemFactory(name="Phone")
    RequestFactory(catalog_item=item)
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_browser.post(
            "/admin/changes/change/", {"action": "mark_failed", "_selected_action": [change.pk]}
        )
    assert response.status_code == 302
    assert warm_new.still_cached() == ALL_NEW - {"change_success"}
    assert acme_api.get(entries.CHANGE_SUCCESS.url).json()[-1]["failed"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_browser.post(
            f"/admin/requests_app/catalogitem/{item.pk}/change/",
            {
                "name": "Smartphone",
                "category": "Hardware",
                "active": "on",
                "fulfilment_target_hours": "24",
            },
        )
    assert response.status_code == 302, response.content[:1000]
    assert warm_new.still_cached() == ALL_NEW - {"requests_by_item"}
    assert acme_api.get(entries.REQUESTS_BY_ITEM.url).json()[0]["item"]["name"] == "Smartphone"


def test_health_and_issue_writes_reach_critical_applications_and_sla_compliance(
    acme_api, warm_new, in_acme, django_capture_on_commit_callbacks
):
    app = ApplicationFactory()
    warm_new()
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.post(f"/api/v1/applications/{app.id}/health-scores/", {"score": 12}, format="json")
    assert warm_new.still_cached() == ALL_NEW - {"critical_applications"}
    assert acme_api.get(entries.CRITICAL_APPLICATIONS.url).json()["total"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.post("/api/v1/issues/", {"title": "Down", "priority": "critical"}, format="json")
    assert warm_new.still_cached() == ALL_NEW - {"sla_compliance"}
    assert acme_api.get(entries.SLA_COMPLIANCE.url).json()[0]["total"] == 1


# --- Tenants ------------------------------------------------------------------------------


def test_one_tenants_data_never_reaches_anothers_new_entries(acme_api, globex_api, acme):
    from django_tenants.utils import tenant_context

    with tenant_context(acme):
        app = ApplicationFactory()
        ApplicationHealthScoreFactory(application=app, score=5)
        RequestFactory(catalog_item=CatalogItemFactory())
        ChangeFactory(status="completed")
        IssueFactory(reporter=UserFactory(), priority="critical")
        CloudCostReportFactory()
    for entry in NEW:
        acme_api.get(entry.url)
    assert acme_api.get(entries.CRITICAL_APPLICATIONS.url).json()["total"] == 1
    assert globex_api.get(entries.CRITICAL_APPLICATIONS.url).json()["total"] == 0
    assert globex_api.get(entries.REQUESTS_BY_ITEM.url).json() == []
    assert globex_api.get(entries.CLOUD_COSTS.url).json() == []
    assert {r["total"] for r in globex_api.get(entries.SLA_COMPLIANCE.url).json()} == {0}
    assert {r["completed"] for r in globex_api.get(entries.CHANGE_SUCCESS.url).json()} == {0}
    assert globex_api.get("/api/v1/catalog-items/").json()["count"] == 0
    assert globex_api.get("/api/v1/cloud-costs/").json()["count"] == 0


@pytest.mark.parametrize(
    ("category", "dropped"),
    [
        ("catalog", {"requests_by_item"}),
        ("cloud", {"cloud_costs"}),
        ("changes", {"change_success"}),
        ("health", {"critical_applications"}),
        ("issues", {"sla_compliance"}),
        ("requests", {"requests_by_item"}),
    ],
)
def test_the_cache_api_drops_a_data_categorys_new_entries_only(
    acme_api, warm_new, category, dropped
):
    warm_new()
    response = acme_api.post("/api/admin/cache/invalidate", {"category": category}, format="json")
    assert response.status_code == 200, response.json()
    assert warm_new.still_cached() == ALL_NEW - dropped
