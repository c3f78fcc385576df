"""manage.py seed_demo: realistic demo data in the demo tenants."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models.functions import TruncDate
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from applications.models import Application, ApplicationHealthScore
from changes.models import Change
from firelater import roles
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.models import Request


def seed(**options) -> str:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def seeded_acme(acme, forget_token_throttling):  # type: ignore[no-untyped-def]
    output = seed(tenants=1, issues=300, applications=5)
    with tenant_context(acme):
        yield output


def test_seed_demo_fills_the_first_demo_tenant(seeded_acme):
    assert "acme: 300 issues, 60 changes, 60 requests, 5 applications" in seeded_acme
    assert Issue.objects.count() == 300
    assert Change.objects.count() == 60
    assert Request.objects.count() == 60
    assert Application.objects.count() == 5


def test_seeded_issues_mix_statuses_and_priorities(seeded_acme):
    statuses = set(Issue.objects.values_list("status", flat=True))
    priorities = set(Issue.objects.values_list("priority", flat=True))

    assert len(statuses) >= 4
    assert {"resolved", "closed"} <= statuses
    assert statuses & set(Issue.OPEN_STATUSES)
    assert priorities == {"critical", "high", "medium", "low"}
    assert not Issue.objects.filter(status__in=Issue.DONE_STATUSES, resolved_at=None).exists()
    assert not Issue.objects.filter(
        status__in=Issue.OPEN_STATUSES, resolved_at__isnull=False
    ).exists()


def test_seeded_issues_were_created_over_many_days(seeded_acme):
    days = Issue.objects.annotate(day=TruncDate("created_at")).values("day").distinct()
    oldest = Issue.objects.order_by("created_at").first()

    assert days.count() >= 20
    assert (timezone.now() - oldest.created_at).days >= 30
    assert not Issue.objects.filter(created_at__gt=timezone.now()).exists()


def test_seeded_issues_have_distinct_human_numbers(seeded_acme):
    numbers = list(Issue.objects.values_list("number", flat=True))

    assert len(set(numbers)) == 300


def test_seeded_applications_have_a_history_of_health_scores(seeded_acme):
    scored = Application.objects.filter(health_scores__isnull=False).distinct()

    assert scored.count() >= 4
    assert ApplicationHealthScore.objects.filter(application=scored.first()).count() >= 30
    scores = ApplicationHealthScore.objects.values_list("score", flat=True)
    assert all(0 <= score <= 100 for score in scores)


def test_some_seeded_changes_are_scheduled_in_the_future(seeded_acme):
    now = timezone.now()

    assert Change.objects.filter(scheduled_start__gt=now).exists()
    assert Change.objects.filter(scheduled_end__lt=now, status="completed").exists()
    assert len(set(Change.objects.values_list("status", flat=True))) >= 3


def test_the_seeded_tenant_can_be_logged_in_with_the_demo_password(seeded_acme):
    client = APIClient(HTTP_HOST="acme.localhost")

    response = client.post(
        "/api/v1/auth/token/", {"username": "admin", "password": "firelater-demo"}, format="json"
    )

    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/issues/").json()["count"] == 300


def test_if_empty_skips_a_tenant_that_already_has_issues(acme):
    with tenant_context(acme):
        IssueFactory(reporter=UserFactory())

    output = seed(tenants=1, issues=50, applications=2, if_empty=True)

    assert "acme: already has data, skipped" in output
    with tenant_context(acme):
        assert Issue.objects.count() == 1
        assert not Application.objects.exists()


def test_if_empty_still_seeds_an_empty_tenant(acme):
    output = seed(tenants=1, issues=20, applications=2, if_empty=True)

    assert "acme: 20 issues" in output
    with tenant_context(acme):
        assert Issue.objects.count() == 20


@pytest.mark.parametrize("options", [{"tenants": 0}, {"issues": -1}, {"applications": -5}])
def test_seed_demo_refuses_nonsense_sizes(db, options):
    with pytest.raises(CommandError):
        seed(**options)


@pytest.mark.parametrize(
    ("username", "role", "dashboard"),
    [
        ("requester", roles.REQUESTER, 403),
        ("agent", roles.AGENT, 200),
        ("changemanager", roles.CHANGE_MANAGER, 200),
        ("admin", roles.TENANT_ADMIN, 200),
    ],
)
def test_the_demo_has_one_login_per_role(seeded_acme, username, role, dashboard):
    assert f"{username} ({role})" in seeded_acme  # the command prints the logins
    user = get_user_model().objects.get(username=username)
    assert roles.user_roles(user) == [role]
    client = APIClient(HTTP_HOST="acme.localhost")
    response = client.post(
        "/api/v1/auth/token/", {"username": username, "password": "firelater-demo"}, format="json"
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/dashboard/").status_code == dashboard
    issues = client.get("/api/v1/issues/").json()["count"]
    if role == roles.REQUESTER:  # the requester files some of the demo's issues, sees those
        assert 0 < issues == Issue.objects.filter(reporter=user).count() < 300
    else:
        assert issues == 300


def test_the_demo_fills_the_catalog_cloud_costs_and_change_outcomes(seeded_acme):
    from cloud.models import CloudCostReport
    from requests_app.models import CatalogItem

    assert CatalogItem.objects.count() >= 5
    assert Request.objects.filter(catalog_item__isnull=False).count() > 30
    assert len(set(Request.objects.values_list("title", flat=True))) > 10  # not a constant
    assert CloudCostReport.objects.values("provider").distinct().count() >= 3
    outcomes = set(Change.objects.exclude(outcome=None).values_list("outcome", flat=True))
    assert "successful" in outcomes
    assert not Change.objects.filter(outcome=None, completed_at__isnull=False).exists()
