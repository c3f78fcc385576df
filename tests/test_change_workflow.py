"""A change's workflow and outcome: the same rules through the API, the admin, bulk actions
and the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from changes import workflow
from changes.factories import ChangeFactory
from changes.models import Change
from dashboard import entries


def url(change: Change) -> str:
    return f"/api/v1/changes/{change.pk}/"


def test_an_illegal_transition_through_the_api_is_a_json_409_saying_what_is_allowed(
    acme_api, in_acme
):
    change = ChangeFactory(status="draft")
    response = acme_api.patch(url(change), {"status": "completed"}, format="json")
    assert response.status_code == 409
    message = response.json()["status"][0]
    assert "'draft' to 'completed'" in message
    assert "submitted" in message
    change.refresh_from_db()
    assert (change.status, change.outcome) == ("draft", None)


def test_a_change_walks_the_workflow_and_records_its_outcome(acme_api, in_acme):
    change = ChangeFactory(status="draft")
    for status in ("submitted", "review", "approved", "scheduled", "implementing"):
        response = acme_api.patch(url(change), {"status": status}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["outcome"] is None
    ended = acme_api.patch(url(change), {"status": "failed"}, format="json").json()
    assert (ended["outcome"], ended["completedAt"] is not None) == ("failed", True)
    rolled = acme_api.patch(url(change), {"status": "rolled_back"}, format="json").json()
    assert rolled["outcome"] == "rolled_back"
    closed = acme_api.patch(url(change), {"status": "closed"}, format="json").json()
    assert (closed["status"], closed["outcome"]) == ("closed", "rolled_back")  # kept
    again = acme_api.patch(url(change), {"status": "draft"}, format="json")
    assert again.status_code == 409
    assert "final" in again.json()["status"][0]


def test_an_outcome_that_does_not_fit_the_status_is_a_400(acme_api, in_acme):
    change = ChangeFactory(status="implementing")
    early = acme_api.patch(url(change), {"outcome": "successful"}, format="json")
    assert early.status_code == 400
    assert "outcome" in early.json()
    wrong = acme_api.patch(
        url(change), {"status": "failed", "outcome": "successful"}, format="json"
    )
    assert wrong.status_code == 400
    assert "outcome" in wrong.json()
    completed = acme_api.patch(
        url(change), {"status": "completed", "outcome": "rolled_back"}, format="json"
    )
    assert completed.json()["outcome"] == "rolled_back"
    created = acme_api.post(
        "/api/v1/changes/", {"title": "Imported", "status": "completed"}, format="json"
    )
    assert (created.status_code, created.json()["outcome"]) == (201, "successful")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("completed", None), ("failed", "successful"), ("draft", "successful"), ("review", "failed")],
)
def test_the_database_refuses_an_outcome_that_does_not_fit_the_status(in_acme, status, outcome):
    change = ChangeFactory(status="implementing")
    with pytest.raises(IntegrityError), transaction.atomic():
        Change.objects.filter(pk=change.pk).update(
            status=status, outcome=outcome, completed_at=timezone.now() if outcome else None
        )


def test_the_database_refuses_an_outcome_without_its_time(in_acme):
    change = ChangeFactory(status="completed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Change.objects.filter(pk=change.pk).update(completed_at=None)


def test_the_admin_form_refuses_an_illegal_transition(acme_browser, in_acme):
    change = ChangeFactory(status="draft", title="Patch")
    form = {
        "title": "Patch",
        "description": "",
        "status": "completed",
        "risk": "low",
        "type": "normal",
        "outcome": "",
        "scheduled_start_0": "",
        "scheduled_start_1": "",
        "scheduled_end_0": "",
        "scheduled_end_1": "",
    }
    response = acme_browser.post(f"/admin/changes/change/{change.pk}/change/", form)
    assert response.status_code == 200
    assert b"cannot go from" in response.content
    assert Change.objects.get(pk=change.pk).status == "draft"
    form["status"] = "submitted"
    assert acme_browser.post(f"/admin/changes/change/{change.pk}/change/", form).status_code == 302
    Change.objects.filter(pk=change.pk).update(status="implementing")
    form["status"] = "completed"
    assert acme_browser.post(f"/admin/changes/change/{change.pk}/change/", form).status_code == 302
    change.refresh_from_db()
    assert (change.outcome, change.completed_at is not None) == ("successful", True)


def test_a_bulk_action_moves_only_the_changes_whose_status_allows_it(acme_browser, in_acme):
    movable = ChangeFactory(status="implementing")
    stuck = ChangeFactory(status="draft")
    response = acme_browser.post(
        "/admin/changes/change/",
        {"action": "mark_completed", "_selected_action": [movable.pk, stuck.pk]},
        follow=True,
    )
    assert b"1 marked as Completed" in response.content
    movable.refresh_from_db()
    stuck.refresh_from_db()
    assert (movable.status, movable.outcome) == ("completed", "successful")
    assert (stuck.status, stuck.outcome) == ("draft", None)


def test_every_status_has_its_transitions_and_closed_is_final():
    assert set(workflow.TRANSITIONS) == set(Change.Status.values)
    assert all(targets <= set(Change.Status.values) for targets in workflow.TRANSITIONS.values())
    assert workflow.allowed_next("closed") == frozenset()


@pytest.mark.parametrize("status", ["rejected", "cancelled", "closed"])
def test_rejected_cancelled_and_closed_changes_are_not_upcoming(
    acme_api, in_acme, clean_cache, status
):
    start = timezone.now() + timezone.timedelta(hours=1)
    ChangeFactory(status="approved", scheduled_start=start)  # counted: the query does count
    ChangeFactory(status=status, scheduled_start=start)
    assert acme_api.get(entries.CHANGES_UPCOMING.url).json()["total"] == 1
    assert acme_api.get("/api/v1/dashboard/mobile/").json()["upcomingChanges"] == 1
