"""Writes through every path (API, admin, ORM, bulk) invalidate exactly what they affect."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from changes.models import Change
from dashboard.entries import ENTRIES
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.models import Request

PATHS = {e.name: e.path + "/" for e in ENTRIES}


@pytest.fixture
def warm(acme_api, dashboard_url):
    """Fill every dashboard entry, then report which are still cached (HIT) afterwards."""

    def fill() -> None:
        for path in PATHS.values():
            acme_api.get(dashboard_url(path))

    def still_cached() -> set[str]:
        return {
            name
            for name, path in PATHS.items()
            if acme_api.get(dashboard_url(path))["X-Cache"] == "HIT"
        }

    fill.still_cached = still_cached  # type: ignore[attr-defined]
    return fill


@pytest.fixture
def issue(in_acme):
    return IssueFactory(reporter=UserFactory(), status="new", priority="low")


def everything_but(*names: str) -> set[str]:
    return set(PATHS) - set(names)


ISSUE_ENTRIES = {
    "overview",
    "trends",
    "activity",
    "issues_by_priority",
    "issues_by_status",
    "mobile",
    "sla_compliance",
}


def test_creating_an_issue_through_the_api_refreshes_the_next_read(
    acme_api, warm, in_acme, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    before = acme_api.get(dashboard_url("overview/")).json()["issues"]["total"]
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_api.post("/api/v1/issues/", {"title": "VPN down"}, format="json")
    assert response.status_code == 201
    assert warm.still_cached() == everything_but(*ISSUE_ENTRIES)
    assert acme_api.get(dashboard_url("overview/")).json()["issues"]["total"] == before + 1


def test_a_priority_only_change_keeps_by_status_and_trends(
    acme_api, warm, issue, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.patch(f"/api/v1/issues/{issue.id}/", {"priority": "critical"}, format="json")
    cached = warm.still_cached()
    assert {"issues_by_status", "trends"} <= cached
    assert not {"issues_by_priority", "overview", "mobile", "activity"} & cached


def test_a_title_only_change_drops_activity_but_no_counts(
    acme_api, warm, issue, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.patch(f"/api/v1/issues/{issue.id}/", {"title": "Renamed"}, format="json")
    assert warm.still_cached() == everything_but("activity")


def test_resolving_an_issue_moves_it_in_every_affected_number(
    acme_api, warm, issue, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.patch(f"/api/v1/issues/{issue.id}/", {"status": "resolved"}, format="json")
    overview = acme_api.get(dashboard_url("overview/")).json()["issues"]
    assert (overview["open"], overview["resolvedToday"]) == (0, 1)
    statuses = {
        r["status"]: r["count"] for r in acme_api.get(dashboard_url("issues/by-status/")).json()
    }
    assert (statuses["new"], statuses["resolved"]) == (0, 1)
    assert acme_api.get(dashboard_url("trends/")).json()[-1]["resolved"] == 1


def test_deleting_an_issue_through_the_api_refreshes_counts(
    acme_api, warm, issue, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        assert acme_api.delete(f"/api/v1/issues/{issue.id}/").status_code == 204
    assert warm.still_cached() == everything_but(*ISSUE_ENTRIES)
    assert acme_api.get(dashboard_url("overview/")).json()["issues"]["total"] == 0


def test_an_orm_save_invalidates(warm, issue, django_capture_on_commit_callbacks):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        issue.status = Issue.Status.ASSIGNED
        issue.save()
    # A status change alone: resolved_at is what SLA compliance reads, not the status.
    assert warm.still_cached() == everything_but(*ISSUE_ENTRIES - {"trends", "sla_compliance"})


def test_saving_an_unchanged_issue_only_drops_activity(
    warm, issue, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        issue.save()  # updated_at moves: an "updated" event, nothing counted changes
    assert warm.still_cached() == everything_but("activity")


def test_queryset_update_invalidates(
    warm, issue, dashboard_url, acme_api, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        Issue.objects.filter(pk=issue.pk).update(priority="high")
    cached = warm.still_cached()
    assert "issues_by_priority" not in cached
    assert "issues_by_status" in cached
    body = acme_api.get(dashboard_url("issues/by-priority/")).json()
    assert {r["priority"]: r["count"] for r in body}["high"] == 1


def test_bulk_create_invalidates(
    warm, in_acme, acme_api, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        Issue.objects.bulk_create(IssueFactory.build_batch(5, reporter=user))
    assert acme_api.get(dashboard_url("overview/")).json()["issues"]["total"] == 5


def test_bulk_update_invalidates(
    warm, issue, acme_api, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    issue.status = "closed"
    issue.resolved_at = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        Issue.objects.bulk_update([issue], ["status", "resolved_at"])
    assert acme_api.get(dashboard_url("overview/")).json()["issues"]["open"] == 0


def test_queryset_delete_invalidates_once_for_many_rows(
    warm, in_acme, acme_api, dashboard_url, django_capture_on_commit_callbacks
):
    IssueFactory.create_batch(30, reporter=UserFactory())
    warm()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Issue.objects.all().delete()
    assert len(callbacks) == 1  # one invalidation for thirty deleted rows
    assert acme_api.get(dashboard_url("overview/")).json()["issues"]["total"] == 0


def test_a_rolled_back_write_invalidates_nothing(warm, issue, django_capture_on_commit_callbacks):
    warm()

    @transaction.atomic
    def write_then_fail() -> None:
        issue.status = Issue.Status.CLOSED
        issue.save()
        Issue.objects.update(priority="critical")
        raise RuntimeError("the write fails after saving")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        write_then_fail()
    assert callbacks == []
    assert warm.still_cached() == set(PATHS)


def test_nothing_is_invalidated_before_the_commit(warm, issue, django_capture_on_commit_callbacks):
    warm()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        issue.status = Issue.Status.CLOSED
        issue.save()
        assert warm.still_cached() == set(PATHS)  # not committed yet: nothing dropped
    for callback in callbacks:
        callback()
    assert "overview" not in warm.still_cached()


def test_the_other_tenants_entries_stay_cached(
    acme_api, globex_api, warm, issue, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    for path in PATHS.values():
        globex_api.get(dashboard_url(path))
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.post("/api/v1/issues/", {"title": "acme only"}, format="json")
        acme_api.post("/api/admin/cache/invalidate", {}, format="json")
    assert all(globex_api.get(dashboard_url(p))["X-Cache"] == "HIT" for p in PATHS.values())


def test_an_admin_edit_and_an_admin_bulk_action_invalidate(
    acme_browser, acme_api, warm, issue, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_browser.post(
            "/admin/issues/issue/",
            {"action": "mark_closed", "_selected_action": [issue.pk]},
        )
    assert response.status_code == 302
    assert acme_api.get(dashboard_url("overview/")).json()["issues"]["open"] == 0
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_browser.post(
            f"/admin/issues/issue/{issue.pk}/change/",
            {
                "title": issue.title,
                "description": "",
                "status": "new",
                "priority": "high",
                "reporter": issue.reporter_id,
                "sla_due_at_0": "",
                "sla_due_at_1": "",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    overview = acme_api.get(dashboard_url("overview/"))
    assert overview["X-Cache"] == "MISS"
    assert overview.json()["issues"]["open"] == 1


def test_request_writes_invalidate_request_entries_only(
    acme_api, warm, in_acme, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.post("/api/v1/requests/", {"title": "New laptop"}, format="json")
    assert warm.still_cached() == everything_but(
        "overview", "activity", "requests_by_status", "mobile", "requests_by_item"
    )
    warm()
    service_request = Request.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        Request.objects.filter(pk=service_request.pk).update(status="approved")
    statuses = {
        r["status"]: r["count"] for r in acme_api.get(dashboard_url("requests/by-status/")).json()
    }
    assert (statuses["submitted"], statuses["approved"]) == (0, 1)


def test_change_writes_invalidate_change_entries(
    acme_api, warm, in_acme, dashboard_url, django_capture_on_commit_callbacks
):
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        ChangeFactory(scheduled_start=timezone.now() + timezone.timedelta(days=1))
    assert warm.still_cached() == everything_but(
        "overview", "activity", "changes_upcoming", "mobile", "change_success"
    )
    assert acme_api.get(dashboard_url("changes/upcoming/")).json()["total"] == 1
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        Change.objects.update(status="cancelled")
    assert acme_api.get(dashboard_url("changes/upcoming/")).json()["total"] == 0


def test_a_new_health_score_invalidates_health_entries(
    acme_api, warm, in_acme, dashboard_url, django_capture_on_commit_callbacks
):
    application = ApplicationFactory()
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_api.post(
            f"/api/v1/applications/{application.id}/health-scores/", {"score": 20}, format="json"
        )
    assert response.status_code == 201
    assert warm.still_cached() == everything_but(
        "overview", "health", "changes_upcoming", "mobile", "critical_applications"
    )
    assert acme_api.get(dashboard_url("health/")).json()["buckets"]["critical"] == 1


def test_renaming_an_application_refreshes_health_but_not_counts(
    acme_api, warm, in_acme, django_capture_on_commit_callbacks
):
    application = ApplicationFactory()
    ApplicationHealthScoreFactory(application=application, score=90)
    warm()
    with django_capture_on_commit_callbacks(execute=True):
        acme_api.patch(f"/api/v1/applications/{application.id}/", {"name": "New"}, format="json")
    assert warm.still_cached() == everything_but(
        "health", "changes_upcoming", "critical_applications"
    )
