"""Every dashboard number checked against data built here and counted independently."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from changes.models import Change
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.factories import RequestFactory
from requests_app.models import Request

NOW = timezone.now()
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def dataset(in_acme):
    """A small, known world: the expected figures are written out by hand below."""
    user = UserFactory()
    critical_app = ApplicationFactory(name="Payments", tier=1)
    warning_app = ApplicationFactory(name="Portal", tier=2)
    healthy_app = ApplicationFactory(name="Wiki", tier=2)
    ApplicationFactory(name="Unscored", tier=4)
    # Latest score decides: an old good score does not hide a new bad one.
    ApplicationHealthScoreFactory(application=critical_app, score=95, calculated_at=NOW - 2 * DAY)
    ApplicationHealthScoreFactory(application=critical_app, score=30, calculated_at=NOW - HOUR)
    ApplicationHealthScoreFactory(application=warning_app, score=79, calculated_at=NOW - HOUR)
    ApplicationHealthScoreFactory(application=healthy_app, score=80, calculated_at=NOW - HOUR)

    def issue(status, priority, created, **kw):
        return IssueFactory(
            reporter=user,
            status=status,
            priority=priority,
            created_at=created,
            updated_at=created,
            **kw,
        )

    # 3 open (1 critical, 1 overdue), 2 done (1 resolved today, 1 resolved 3 days ago).
    issue("new", "critical", NOW - 2 * HOUR, sla_due_at=NOW + 2 * HOUR)
    issue("in_progress", "high", NOW - 2 * DAY, sla_due_at=NOW - DAY)  # overdue
    issue("pending", "low", NOW - 5 * DAY, sla_due_at=NOW + DAY)
    issue("resolved", "medium", NOW - 4 * DAY, resolved_at=NOW - 3 * DAY)
    issue("closed", "critical", NOW - 10 * DAY, resolved_at=NOW - 10 * DAY + HOUR)
    # ...and one resolved today (resolved_at in the first minutes of the local day is safe).
    today_start = timezone.localtime(NOW).replace(hour=0, minute=0, second=0, microsecond=0)
    issue("resolved", "high", today_start - DAY, resolved_at=max(today_start, NOW - HOUR))

    ChangeFactory(status="submitted", scheduled_start=NOW + DAY, created_at=NOW - DAY)
    ChangeFactory(
        status="scheduled",
        scheduled_start=NOW + 3 * DAY,
        created_at=NOW - DAY,
        application=critical_app,
    )
    ChangeFactory(status="failed", scheduled_start=NOW - 20 * DAY, created_at=NOW - 30 * DAY)
    ChangeFactory(status="cancelled", scheduled_start=NOW + 2 * DAY, created_at=NOW - DAY)
    ChangeFactory(status="approved", scheduled_start=NOW + 10 * DAY, created_at=NOW - DAY)

    RequestFactory(
        requester=user, status="submitted", created_at=NOW - 10 * DAY, due_at=NOW - DAY
    )  # overdue
    RequestFactory(
        requester=user, status="pending_approval", created_at=NOW - DAY, due_at=NOW + DAY
    )
    RequestFactory(
        requester=user,
        status="fulfilled",
        created_at=NOW - 3 * DAY,
        due_at=NOW + DAY,
        fulfilled_at=NOW - DAY,
    )
    return {"critical_app": critical_app}


def test_overview_counts_match_the_data(acme_api, dataset, dashboard_url):
    body = acme_api.get(dashboard_url("overview/")).json()
    assert body["issues"] == {
        "total": 6,
        "open": 3,
        "critical": 1,
        "overdue": 1,
        "resolvedToday": 1,
    }
    week_start = timezone.localtime(NOW).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start -= dt.timedelta(days=week_start.weekday())
    this_week = [
        start
        for start in (NOW + DAY, NOW + 3 * DAY, NOW + 10 * DAY)
        if week_start <= start < week_start + 7 * DAY
    ]
    assert body["changes"] == {
        "total": 5,
        "pendingApproval": 1,
        "scheduledThisWeek": len(this_week),
        "failed": 1,
    }
    assert body["requests"] == {"total": 3, "open": 2, "pendingApproval": 1, "overdue": 1}
    assert body["applications"] == {
        "total": 4,
        "healthy": 1,
        "warning": 1,
        "critical": 1,
        "unknown": 1,
    }


def test_the_dashboard_root_is_the_overview(acme_api, dataset, dashboard_url):
    assert acme_api.get(dashboard_url()).json() == acme_api.get(dashboard_url("overview/")).json()


def test_trends_have_every_day_with_created_and_resolved_counts(acme_api, dataset, dashboard_url):
    body = acme_api.get(dashboard_url("trends/?days=12")).json()
    assert len(body) == 12
    today = timezone.localdate()
    assert [row["date"] for row in body] == [
        (today - dt.timedelta(days=11 - i)).isoformat() for i in range(12)
    ]
    expected_created: dict[str, int] = {}
    expected_resolved: dict[str, int] = {}
    for issue in Issue.objects.all():
        day = timezone.localtime(issue.created_at).date().isoformat()
        expected_created[day] = expected_created.get(day, 0) + 1
        if issue.resolved_at:
            day = timezone.localtime(issue.resolved_at).date().isoformat()
            expected_resolved[day] = expected_resolved.get(day, 0) + 1
    for row in body:
        assert row["created"] == expected_created.get(row["date"], 0)
        assert row["resolved"] == expected_resolved.get(row["date"], 0)
    assert sum(row["created"] for row in body) == 6  # all six were created within 12 days


def test_health_buckets_tiers_and_latest_scores(acme_api, dataset, dashboard_url):
    body = acme_api.get(dashboard_url("health/")).json()
    assert body["buckets"] == {"healthy": 1, "warning": 1, "critical": 1, "unknown": 1}
    assert body["total"] == 4
    tiers = {row["tier"]: row for row in body["byTier"]}
    assert tiers[1] == {"tier": 1, "healthy": 0, "warning": 0, "critical": 1, "unknown": 0}
    assert tiers[2] == {"tier": 2, "healthy": 1, "warning": 1, "critical": 0, "unknown": 0}
    assert tiers[4]["unknown"] == 1
    apps = {app["name"]: app for app in body["applications"]}
    assert (apps["Payments"]["score"], apps["Payments"]["status"]) == (30, "critical")
    assert (apps["Portal"]["status"], apps["Wiki"]["status"]) == ("warning", "healthy")
    assert (apps["Unscored"]["score"], apps["Unscored"]["status"]) == (None, "unknown")


def test_activity_is_newest_first_across_types_and_limited(acme_api, dataset, dashboard_url):
    body = acme_api.get(dashboard_url("activity/?limit=5")).json()
    assert len(body) == 5
    times = [dt.datetime.fromisoformat(e["at"]) for e in body]
    assert times == sorted(times, reverse=True)
    events = []
    for issue in Issue.objects.all():
        events.append(("issue", "created", issue.created_at))
        if issue.resolved_at:
            events.append(("issue", "resolved", issue.resolved_at))
    for change in Change.objects.all():
        events.append(("change", "created", change.created_at))
    for request in Request.objects.all():
        events.append(("request", "created", request.created_at))
        if request.fulfilled_at:
            events.append(("request", "fulfilled", request.fulfilled_at))
    newest = sorted(events, key=lambda e: e[2], reverse=True)[:5]
    assert [(e["type"], e["action"]) for e in body] == [(t, a) for t, a, _ in newest]
    assert all(set(e) == {"type", "id", "number", "title", "action", "at"} for e in body)


def test_issues_by_priority_counts_open_issues_only(acme_api, dataset, dashboard_url):
    body = acme_api.get(dashboard_url("issues/by-priority/")).json()
    assert body == [
        {"priority": "critical", "count": 1},
        {"priority": "high", "count": 1},
        {"priority": "medium", "count": 0},
        {"priority": "low", "count": 1},
    ]


def test_issues_and_requests_by_status_list_every_status(acme_api, dataset, dashboard_url):
    issues = {
        r["status"]: r["count"] for r in acme_api.get(dashboard_url("issues/by-status/")).json()
    }
    assert issues == {
        "new": 1,
        "assigned": 0,
        "in_progress": 1,
        "pending": 1,
        "resolved": 2,
        "closed": 1,
    }
    requests = acme_api.get(dashboard_url("requests/by-status/")).json()
    assert [r["status"] for r in requests] == list(Request.Status.values)
    assert {r["status"]: r["count"] for r in requests}["pending_approval"] == 1


def test_upcoming_changes_are_the_next_seven_days_not_cancelled(acme_api, dataset, dashboard_url):
    body = acme_api.get(dashboard_url("changes/upcoming/")).json()
    assert body["total"] == body["shown"] == 2
    assert [c["status"] for c in body["changes"]] == ["submitted", "scheduled"]
    assert body["changes"][1]["application"] == {
        "id": dataset["critical_app"].id,
        "name": "Payments",
    }
    assert body["changes"][0]["number"].startswith("CHG-")


def test_the_mobile_summary_is_compact_and_consistent(acme_api, dataset, dashboard_url):
    body = acme_api.get(dashboard_url("mobile/")).json()
    assert body["openIssues"] == 3
    assert body["criticalIssues"] == 1
    assert body["overdueIssues"] == 1
    assert body["changesPendingApproval"] == 1
    assert body["requestsPendingApproval"] == 1
    assert body["upcomingChanges"] == 2
    assert body["criticalApplications"] == 1
    assert body["needsAttention"] == 3


def test_a_new_tenant_gets_zeros_not_errors(acme_api, in_acme, dashboard_url):
    body = acme_api.get(dashboard_url("overview/")).json()
    assert body["issues"]["total"] == 0
    assert acme_api.get(dashboard_url("health/")).json()["applications"] == []
    assert acme_api.get(dashboard_url("activity/")).json() == []
    assert len(acme_api.get(dashboard_url("trends/")).json()) == 30
