"""CRUD through the API for every resource, with camelCase JSON in and out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from applications.models import Application
from changes.factories import ChangeFactory
from changes.models import Change
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.factories import RequestFactory
from requests_app.models import Request
from tests.utils import iso


def same_moment(value: str, moment) -> bool:  # type: ignore[no-untyped-def]
    return parse_datetime(value) == moment


# --- Issues ---------------------------------------------------------------------------------


def test_creating_an_issue_returns_it_in_camel_case_with_the_caller_as_reporter(
    acme_api, acme_admin
):
    application = ApplicationFactory()
    due = timezone.now() + timedelta(hours=3)

    response = acme_api.post(
        "/api/v1/issues/",
        {
            "title": "Checkout returns 502",
            "priority": "high",
            "application": application.pk,
            "slaDueAt": iso(due),
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == "Checkout returns 502"
    assert body["status"] == "new"
    assert body["reporter"] == {"id": acme_admin.pk, "username": "admin"}
    assert body["number"].startswith("ISS-")
    assert same_moment(body["slaDueAt"], due)
    assert {"createdAt", "updatedAt", "resolvedAt", "slaDueAt"} <= body.keys()
    assert not any("_" in key for key in body)
    issue = Issue.objects.get(pk=body["id"])
    assert issue.reporter == acme_admin
    assert issue.application == application


def test_an_issue_gets_an_sla_from_its_priority_when_none_is_given(acme_api, in_acme):
    response = acme_api.post(
        "/api/v1/issues/", {"title": "Site down", "priority": "critical"}, format="json"
    )

    body = response.json()
    created = parse_datetime(body["createdAt"])
    assert parse_datetime(body["slaDueAt"]) - created == timedelta(hours=4)


def test_an_issue_can_be_retrieved_by_id(acme_api, acme_admin):
    issue = IssueFactory(reporter=acme_admin, title="Printer on fire")

    response = acme_api.get(f"/api/v1/issues/{issue.pk}/")

    assert response.status_code == 200
    assert response.json()["title"] == "Printer on fire"
    assert response.json()["number"] == issue.display_number


def test_patching_an_issue_changes_only_the_given_fields(acme_api, acme_admin):
    issue = IssueFactory(reporter=acme_admin, title="Old title", priority="low")
    before = issue.updated_at

    response = acme_api.patch(f"/api/v1/issues/{issue.pk}/", {"priority": "high"}, format="json")

    assert response.status_code == 200
    issue.refresh_from_db()
    assert (issue.title, issue.priority) == ("Old title", "high")
    assert issue.updated_at > before


def test_putting_an_issue_replaces_its_editable_fields(acme_api, acme_admin):
    issue = IssueFactory(reporter=acme_admin, title="Old title")
    assignee = acme_admin

    response = acme_api.put(
        f"/api/v1/issues/{issue.pk}/",
        {
            "title": "New title",
            "description": "Details",
            "status": "assigned",
            "priority": "low",
            "assignee": assignee.pk,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    issue.refresh_from_db()
    assert (issue.title, issue.status, issue.priority) == ("New title", "assigned", "low")
    assert issue.assignee == assignee


def test_deleting_an_issue_removes_it(acme_api, acme_admin):
    issue = IssueFactory(reporter=acme_admin)

    response = acme_api.delete(f"/api/v1/issues/{issue.pk}/")

    assert response.status_code == 204
    assert not Issue.objects.filter(pk=issue.pk).exists()
    assert acme_api.get(f"/api/v1/issues/{issue.pk}/").status_code == 404


@pytest.mark.parametrize("done_status", ["resolved", "closed"])
def test_resolving_an_issue_stamps_resolved_at_and_reopening_clears_it(
    acme_api, acme_admin, done_status
):
    issue = IssueFactory(reporter=acme_admin, status="in_progress")
    url = f"/api/v1/issues/{issue.pk}/"

    resolved = acme_api.patch(url, {"status": done_status}, format="json").json()
    issue.refresh_from_db()
    assert resolved["resolvedAt"] is not None
    assert issue.resolved_at is not None
    assert same_moment(resolved["resolvedAt"], issue.resolved_at)

    reopened = acme_api.patch(url, {"status": "assigned"}, format="json").json()
    issue.refresh_from_db()
    assert reopened["resolvedAt"] is None
    assert issue.resolved_at is None


def test_closing_a_resolved_issue_keeps_its_resolution_time(acme_api, acme_admin):
    issue = IssueFactory(reporter=acme_admin, status="resolved")
    resolved_at = issue.resolved_at

    acme_api.patch(f"/api/v1/issues/{issue.pk}/", {"status": "closed"}, format="json")

    issue.refresh_from_db()
    assert issue.resolved_at == resolved_at


def test_the_reporter_and_timestamps_cannot_be_set_by_the_client(acme_api, acme_admin):
    long_ago = "2001-01-01T00:00:00Z"

    response = acme_api.post(
        "/api/v1/issues/",
        {
            "title": "Sneaky",
            "reporter": 999,
            "createdAt": long_ago,
            "resolvedAt": long_ago,
            "number": "ISS-000001",
        },
        format="json",
    )

    assert response.status_code == 201
    issue = Issue.objects.get(pk=response.json()["id"])
    assert issue.reporter == acme_admin
    assert issue.created_at.year == timezone.now().year
    assert issue.resolved_at is None
    assert response.json()["number"] == issue.display_number


# --- Service requests -----------------------------------------------------------------------


def test_creating_a_request_sets_the_caller_as_requester(acme_api, acme_admin):
    due = timezone.now() + timedelta(days=3)

    response = acme_api.post(
        "/api/v1/requests/",
        {"title": "New laptop", "priority": "low", "dueAt": iso(due)},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["requester"] == {"id": acme_admin.pk, "username": "admin"}
    assert body["status"] == "submitted"
    assert body["number"].startswith("REQ-")
    assert same_moment(body["dueAt"], due)
    assert body["fulfilledAt"] is None
    assert Request.objects.get(pk=body["id"]).requester == acme_admin


def test_a_request_can_be_retrieved_patched_put_and_deleted(acme_api, acme_admin):
    service_request = RequestFactory(requester=acme_admin, title="VPN token")
    url = f"/api/v1/requests/{service_request.pk}/"

    assert acme_api.get(url).json()["title"] == "VPN token"
    assert acme_api.patch(url, {"priority": "high"}, format="json").json()["priority"] == "high"
    put = acme_api.put(url, {"title": "VPN token for Sam", "status": "approved"}, format="json")
    assert put.status_code == 200
    assert (put.json()["title"], put.json()["status"]) == ("VPN token for Sam", "approved")
    assert acme_api.delete(url).status_code == 204
    assert not Request.objects.filter(pk=service_request.pk).exists()


def test_fulfilling_a_request_stamps_fulfilled_at_and_reopening_clears_it(acme_api, acme_admin):
    service_request = RequestFactory(requester=acme_admin, status="in_progress")
    url = f"/api/v1/requests/{service_request.pk}/"

    fulfilled = acme_api.patch(url, {"status": "fulfilled"}, format="json").json()
    service_request.refresh_from_db()
    assert service_request.fulfilled_at is not None
    assert same_moment(fulfilled["fulfilledAt"], service_request.fulfilled_at)

    reopened = acme_api.patch(url, {"status": "in_progress"}, format="json").json()
    service_request.refresh_from_db()
    assert reopened["fulfilledAt"] is None
    assert service_request.fulfilled_at is None


def test_a_request_created_as_fulfilled_is_stamped_at_once(acme_api, in_acme):
    response = acme_api.post(
        "/api/v1/requests/", {"title": "Done already", "status": "fulfilled"}, format="json"
    )

    assert response.json()["fulfilledAt"] is not None


# --- Changes --------------------------------------------------------------------------------


def test_creating_a_change_accepts_camel_case_schedule_fields(acme_api, in_acme):
    application = ApplicationFactory()
    start = timezone.now() + timedelta(days=1)
    end = start + timedelta(hours=2)

    response = acme_api.post(
        "/api/v1/changes/",
        {
            "title": "Rotate certificates",
            "risk": "high",
            "type": "emergency",
            "application": application.pk,
            "scheduledStart": iso(start),
            "scheduledEnd": iso(end),
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("CHG-")
    assert (body["status"], body["risk"], body["type"]) == ("draft", "high", "emergency")
    change = Change.objects.get(pk=body["id"])
    assert (change.scheduled_start, change.scheduled_end) == (start, end)
    assert change.application == application


def test_a_change_can_be_retrieved_patched_put_and_deleted(acme_api, in_acme):
    change = ChangeFactory(title="Patch hosts")
    url = f"/api/v1/changes/{change.pk}/"

    assert acme_api.get(url).json()["title"] == "Patch hosts"
    patched = acme_api.patch(url, {"status": "submitted"}, format="json")
    assert patched.json()["status"] == "submitted"
    put = acme_api.put(url, {"title": "Patch all hosts", "risk": "medium"}, format="json")
    assert put.status_code == 200
    change.refresh_from_db()
    assert (change.title, change.risk, change.status) == ("Patch all hosts", "medium", "submitted")
    assert acme_api.delete(url).status_code == 204
    assert not Change.objects.filter(pk=change.pk).exists()


# --- Applications and health scores ---------------------------------------------------------


def test_an_application_can_be_created_retrieved_updated_and_deleted(acme_api, in_acme):
    created = acme_api.post(
        "/api/v1/applications/",
        {"name": "Payments", "tier": 1, "owner": "Payments team"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["health"] == "unknown"
    assert body["latestScore"] is None
    assert "createdAt" in body
    url = f"/api/v1/applications/{body['id']}/"

    assert acme_api.get(url).json()["name"] == "Payments"
    assert acme_api.patch(url, {"tier": 2}, format="json").json()["tier"] == 2
    put = acme_api.put(url, {"name": "Payments Gateway", "tier": 3}, format="json")
    assert put.status_code == 200
    application = Application.objects.get(pk=body["id"])
    assert (application.name, application.tier) == ("Payments Gateway", 3)
    assert acme_api.delete(url).status_code == 204
    assert not Application.objects.filter(pk=body["id"]).exists()


def test_an_application_shows_its_latest_score_and_health(acme_api, in_acme):
    application = ApplicationFactory()
    now = timezone.now()
    ApplicationHealthScoreFactory(application=application, score=95, calculated_at=now)
    ApplicationHealthScoreFactory(
        application=application, score=30, calculated_at=now - timedelta(days=1)
    )

    body = acme_api.get(f"/api/v1/applications/{application.pk}/").json()

    assert body["latestScore"] == 95
    assert body["health"] == "healthy"
    assert same_moment(body["latestScoreAt"], now)


def test_recording_a_health_score_returns_it_with_its_status(acme_api, in_acme):
    application = ApplicationFactory()
    url = f"/api/v1/applications/{application.pk}/health-scores/"

    response = acme_api.post(url, {"score": 64}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["score"] == 64
    assert response.json()["status"] == "warning"
    assert response.json()["calculatedAt"] is not None
    assert application.health_scores.get().score == 64


def test_a_health_score_accepts_a_camel_case_calculation_time(acme_api, in_acme):
    application = ApplicationFactory()
    calculated_at = timezone.now() - timedelta(hours=5)

    acme_api.post(
        f"/api/v1/applications/{application.pk}/health-scores/",
        {"score": 12, "calculatedAt": iso(calculated_at)},
        format="json",
    )

    assert application.health_scores.get().calculated_at == calculated_at


def test_health_scores_are_listed_newest_first_with_pagination(acme_api, in_acme):
    application = ApplicationFactory()
    other = ApplicationFactory()
    now = timezone.now()
    for days_ago, score in enumerate([90, 70, 40]):
        ApplicationHealthScoreFactory(
            application=application, score=score, calculated_at=now - timedelta(days=days_ago)
        )
    ApplicationHealthScoreFactory(application=other, score=1)

    body = acme_api.get(f"/api/v1/applications/{application.pk}/health-scores/").json()

    assert body["count"] == 3
    assert [row["score"] for row in body["results"]] == [90, 70, 40]
    assert [row["status"] for row in body["results"]] == ["healthy", "warning", "critical"]


def test_health_scores_of_an_unknown_application_are_404(acme_api, in_acme):
    response = acme_api.get("/api/v1/applications/999999999/health-scores/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
