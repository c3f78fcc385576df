"""The database itself refuses bad rows, whatever path (bulk update, raw save) writes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from applications.models import Application, ApplicationHealthScore
from changes.factories import ChangeFactory
from changes.models import Change
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.factories import RequestFactory
from requests_app.models import Request


def assert_refused(queryset, **values) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError), transaction.atomic():
        queryset.update(**values)


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "on_fire"), ("priority", "urgent"), ("status", ""), ("priority", "HIGH")],
)
def test_an_issue_with_an_unknown_status_or_priority_is_refused(acme_admin, field, value):
    issue = IssueFactory(reporter=acme_admin)

    assert_refused(Issue.objects.filter(pk=issue.pk), **{field: value})


@pytest.mark.parametrize(("field", "value"), [("status", "done"), ("priority", "p1")])
def test_a_request_with_an_unknown_status_or_priority_is_refused(acme_admin, field, value):
    service_request = RequestFactory(requester=acme_admin)

    assert_refused(Request.objects.filter(pk=service_request.pk), **{field: value})


@pytest.mark.parametrize(
    ("field", "value"), [("status", "postponed"), ("risk", "extreme"), ("type", "urgent")]
)
def test_a_change_with_an_unknown_status_risk_or_type_is_refused(in_acme, field, value):
    change = ChangeFactory()

    assert_refused(Change.objects.filter(pk=change.pk), **{field: value})


@pytest.mark.parametrize("score", [-1, 101, 32000])
def test_a_health_score_outside_0_to_100_is_refused(in_acme, score):
    health_score = ApplicationHealthScoreFactory(score=50)

    assert_refused(ApplicationHealthScore.objects.filter(pk=health_score.pk), score=score)


def test_health_scores_of_exactly_0_and_100_are_accepted(in_acme):
    application = ApplicationFactory()

    ApplicationHealthScoreFactory(application=application, score=0)
    ApplicationHealthScoreFactory(application=application, score=100)

    assert application.health_scores.count() == 2


@pytest.mark.parametrize("tier", [0, 5, 9])
def test_an_application_tier_outside_1_to_4_is_refused(in_acme, tier):
    application = ApplicationFactory(tier=2)

    assert_refused(Application.objects.filter(pk=application.pk), tier=tier)


def test_an_issue_cannot_be_resolved_before_it_was_created(acme_admin):
    issue = IssueFactory(reporter=acme_admin)

    assert_refused(
        Issue.objects.filter(pk=issue.pk), resolved_at=issue.created_at - timedelta(seconds=1)
    )


def test_an_issue_sla_cannot_fall_due_before_it_was_created(acme_admin):
    issue = IssueFactory(reporter=acme_admin)

    assert_refused(
        Issue.objects.filter(pk=issue.pk), sla_due_at=issue.created_at - timedelta(minutes=1)
    )


@pytest.mark.parametrize("field", ["due_at", "fulfilled_at"])
def test_a_request_cannot_be_due_or_fulfilled_before_it_was_created(acme_admin, field):
    service_request = RequestFactory(requester=acme_admin)

    assert_refused(
        Request.objects.filter(pk=service_request.pk),
        **{field: service_request.created_at - timedelta(hours=1)},
    )


def test_a_change_cannot_end_before_it_starts(in_acme):
    change = ChangeFactory()

    assert_refused(
        Change.objects.filter(pk=change.pk),
        scheduled_end=change.scheduled_start - timedelta(minutes=1),
    )


def test_a_change_may_end_exactly_when_it_starts_or_have_no_schedule(in_acme):
    change = ChangeFactory()

    Change.objects.filter(pk=change.pk).update(scheduled_end=change.scheduled_start)
    Change.objects.filter(pk=change.pk).update(scheduled_start=None, scheduled_end=None)

    change.refresh_from_db()
    assert change.scheduled_start is None
    assert change.scheduled_end is None
