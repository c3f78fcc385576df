"""Model invariants outside the database constraints: health buckets, timestamps, services."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from applications.models import HealthStatus, health_status_for
from applications.selectors import application_list
from changes.services import change_create
from issues.factories import IssueFactory
from issues.models import Issue
from issues.services import issue_bulk_set_status, issue_create
from requests_app.services import request_create
from tenants.models import Tenant


@pytest.mark.parametrize(
    ("score", "status"),
    [
        (100, HealthStatus.HEALTHY),
        (80, HealthStatus.HEALTHY),
        (79, HealthStatus.WARNING),
        (50, HealthStatus.WARNING),
        (49, HealthStatus.CRITICAL),
        (0, HealthStatus.CRITICAL),
        (None, HealthStatus.UNKNOWN),
    ],
)
def test_a_score_falls_in_the_contracts_health_bucket(score, status):
    assert health_status_for(score) == status


def test_an_applications_health_is_its_latest_score(in_acme):
    application = ApplicationFactory()
    now = timezone.now()
    ApplicationHealthScoreFactory(application=application, score=20, calculated_at=now)
    ApplicationHealthScoreFactory(
        application=application, score=99, calculated_at=now - timedelta(hours=1)
    )
    unscored = ApplicationFactory()

    by_id = {app.pk: app for app in application_list()}

    assert by_id[application.pk].latest_score == 20
    assert by_id[unscored.pk].latest_score is None


def test_saving_a_record_bumps_updated_at_even_with_update_fields(acme_admin):
    issue = IssueFactory(reporter=acme_admin, created_at=timezone.now() - timedelta(days=1))
    before = issue.updated_at

    issue.title = "Renamed"
    issue.save(update_fields=["title"])

    issue.refresh_from_db()
    assert issue.title == "Renamed"
    assert issue.updated_at > before
    assert issue.created_at < before + timedelta(seconds=1)


def test_an_unsaved_record_has_no_display_number(acme_admin):
    assert IssueFactory.build(reporter=acme_admin).display_number == ""


def test_issue_create_sets_the_sla_from_the_priority(acme_admin):
    issue = issue_create(reporter=acme_admin, title="x", priority="low")

    assert issue.sla_due_at - issue.created_at == timedelta(hours=72)


def test_a_date_before_creation_is_a_validation_error_on_that_field(acme_admin):
    yesterday = timezone.now() - timedelta(days=1)

    with pytest.raises(ValidationError) as issue_error:
        issue_create(reporter=acme_admin, title="x", sla_due_at=yesterday)
    with pytest.raises(ValidationError) as request_error:
        request_create(requester=acme_admin, title="x", due_at=yesterday)

    assert list(issue_error.value.message_dict) == ["sla_due_at"]
    assert list(request_error.value.message_dict) == ["due_at"]


def test_services_refuse_unknown_choices_before_the_database_does(acme_admin):
    with pytest.raises(ValidationError) as issue_error:
        issue_create(reporter=acme_admin, title="x", status="on_fire")
    with pytest.raises(ValidationError) as request_error:
        request_create(requester=acme_admin, title="x", priority="urgent")
    with pytest.raises(ValidationError) as change_error:
        change_create(title="x", risk="extreme")

    assert "status" in issue_error.value.message_dict
    assert "priority" in request_error.value.message_dict
    assert "risk" in change_error.value.message_dict


def test_bulk_resolving_keeps_an_earlier_resolution_time(acme_admin):
    earlier = IssueFactory(reporter=acme_admin, status="resolved")
    fresh = IssueFactory(reporter=acme_admin, status="new")

    count = issue_bulk_set_status(
        queryset=Issue.objects.filter(pk__in=[earlier.pk, fresh.pk]), status="closed"
    )

    assert count == 2
    old_resolved_at = earlier.resolved_at
    earlier.refresh_from_db()
    fresh.refresh_from_db()
    assert earlier.resolved_at == old_resolved_at
    assert fresh.resolved_at is not None


def test_records_and_tenants_print_as_people_read_them(acme, acme_admin):
    issue = IssueFactory(reporter=acme_admin, title="Printer jam")

    assert str(issue) == f"{issue.display_number} Printer jam"
    assert str(ApplicationFactory(name="CRM")) == "CRM"
    assert str(acme) == "Acme (acme)"
    assert not acme.is_public
    assert Tenant.objects.get(schema_name="public").is_public


def test_the_models_need_no_new_migrations(db):
    out = StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=out)

    assert "No changes detected" in out.getvalue()
