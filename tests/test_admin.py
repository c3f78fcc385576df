"""The Django admin of a tenant: changelists, search and bulk status actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import models
from django.test import Client
from django.test import RequestFactory as DjangoRequestFactory
from django_tenants.utils import tenant_context

import firelater.urls  # noqa: F401  (configures the tenant admin site, as every request does)
from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from changes.models import Change
from firelater.admin import UTCSplitDateTimeField
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.factories import RequestFactory
from requests_app.models import Request
from tenants.admin import platform_admin_site


@pytest.fixture
def records(acme_admin):  # type: ignore[no-untyped-def]
    """A few records of every kind in acme."""
    application = ApplicationFactory(name="Payments Gateway")
    ApplicationHealthScoreFactory(application=application, score=42)
    return {
        "issues": [
            IssueFactory(reporter=acme_admin, title="Card declined", application=application),
            IssueFactory(reporter=acme_admin, title="Printer jam", status="assigned"),
        ],
        "request": RequestFactory(requester=acme_admin, title="New laptop"),
        "change": ChangeFactory(
            title="Rotate certificates", application=application, status="submitted"
        ),
        "application": application,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/admin/issues/issue/", b"Card declined"),
        ("/admin/requests_app/request/", b"New laptop"),
        ("/admin/changes/change/", b"Rotate certificates"),
        ("/admin/applications/application/", b"Payments Gateway"),
        ("/admin/applications/applicationhealthscore/", b"Payments Gateway"),
    ],
)
def test_a_staff_user_can_open_each_changelist(acme_browser, records, url, expected):
    response = acme_browser.get(url)

    assert response.status_code == 200
    assert expected in response.content


def test_the_application_changelist_shows_latest_score_and_health(acme_browser, records):
    content = acme_browser.get("/admin/applications/application/").content.decode()

    assert "42" in content
    assert "Critical" in content


def test_the_issue_changelist_shows_human_numbers(acme_browser, records):
    issue = records["issues"][0]

    assert issue.display_number.encode() in acme_browser.get("/admin/issues/issue/").content


@pytest.mark.parametrize(
    "url",
    [
        "/admin/issues/issue/add/",
        "/admin/requests_app/request/add/",
        "/admin/changes/change/add/",
        "/admin/applications/application/add/",
    ],
)
def test_the_add_forms_open(acme_browser, in_acme, url):
    assert acme_browser.get(url).status_code == 200


def test_an_issue_change_form_opens(acme_browser, records):
    issue = records["issues"][0]

    response = acme_browser.get(f"/admin/issues/issue/{issue.pk}/change/")

    assert response.status_code == 200
    assert issue.display_number.encode() in response.content


def test_mark_selected_as_resolved_resolves_the_chosen_issues(acme_browser, records, acme):
    chosen, untouched = records["issues"]

    response = acme_browser.post(
        "/admin/issues/issue/",
        {"action": "mark_resolved", "_selected_action": [chosen.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 marked as Resolved." in [str(m) for m in get_messages(response.wsgi_request)]
    with tenant_context(acme):
        chosen.refresh_from_db()
        untouched.refresh_from_db()
    assert chosen.status == Issue.Status.RESOLVED
    assert chosen.resolved_at is not None
    assert untouched.status == Issue.Status.ASSIGNED
    assert untouched.resolved_at is None


def test_reopening_issues_in_bulk_clears_their_resolution_time(acme_browser, acme_admin):
    resolved = IssueFactory.create_batch(2, reporter=acme_admin, status="resolved")

    acme_browser.post(
        "/admin/issues/issue/",
        {"action": "mark_in_progress", "_selected_action": [issue.pk for issue in resolved]},
    )

    assert set(Issue.objects.values_list("status", "resolved_at")) == {("in_progress", None)}


def test_bulk_status_actions_work_for_requests_and_changes(acme_browser, records):
    acme_browser.post(
        "/admin/requests_app/request/",
        {"action": "mark_fulfilled", "_selected_action": [records["request"].pk]},
    )
    acme_browser.post(
        "/admin/changes/change/",
        {"action": "mark_approved", "_selected_action": [records["change"].pk]},
    )

    service_request = Request.objects.get(pk=records["request"].pk)
    assert service_request.status == "fulfilled"
    assert service_request.fulfilled_at is not None
    assert Change.objects.get(pk=records["change"].pk).status == "approved"


def test_the_issue_admin_search_finds_by_title(acme_browser, records):
    content = acme_browser.get("/admin/issues/issue/?q=printer").content

    assert b"Printer jam" in content
    assert b"Card declined" not in content


def test_the_issue_admin_search_finds_by_number(acme_browser, records):
    issue = records["issues"][1]

    content = acme_browser.get(f"/admin/issues/issue/?q={issue.number}").content

    assert b"Printer jam" in content
    assert b"Card declined" not in content


@pytest.mark.parametrize(
    ("url", "term", "expected"),
    [
        ("/admin/requests_app/request/", "laptop", b"New laptop"),
        ("/admin/changes/change/", "certificates", b"Rotate certificates"),
        ("/admin/applications/application/", "payments", b"Payments Gateway"),
        ("/admin/applications/applicationhealthscore/", "payments", b"Payments Gateway"),
    ],
)
def test_admin_search_works_on_every_changelist(acme_browser, records, url, term, expected):
    response = acme_browser.get(url, {"q": term})

    assert response.status_code == 200
    assert expected in response.content


def test_the_issue_changelist_filters_by_status(acme_browser, records):
    content = acme_browser.get("/admin/issues/issue/?status__exact=assigned").content

    assert b"Printer jam" in content
    assert b"Card declined" not in content


def test_an_anonymous_visitor_is_sent_to_the_admin_login(acme):
    response = Client(HTTP_HOST="acme.localhost").get("/admin/issues/issue/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def split_datetime(prefix: str, moment) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The admin's two inputs (date, time) for one datetime field."""
    return {f"{prefix}_0": moment.strftime("%Y-%m-%d"), f"{prefix}_1": moment.strftime("%H:%M:%S")}


def issue_form(issue: Issue, **changes: object) -> dict[str, object]:
    return {
        "title": issue.title,
        "description": issue.description,
        "status": issue.status,
        "priority": issue.priority,
        "application": "",
        "reporter": issue.reporter_id,
        "assignee": "",
        **split_datetime("sla_due_at", issue.sla_due_at),
        **changes,
    }


def test_resolving_an_issue_in_its_change_form_stamps_resolved_at(acme_browser, acme_admin):
    issue = IssueFactory(reporter=acme_admin, status="in_progress")
    url = f"/admin/issues/issue/{issue.pk}/change/"

    response = acme_browser.post(url, issue_form(issue, status="resolved"))

    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == "resolved"
    assert issue.resolved_at is not None


def test_reopening_an_issue_in_its_change_form_clears_resolved_at(acme_browser, acme_admin):
    issue = IssueFactory(reporter=acme_admin, status="closed")

    acme_browser.post(
        f"/admin/issues/issue/{issue.pk}/change/", issue_form(issue, status="assigned")
    )

    issue.refresh_from_db()
    assert (issue.status, issue.resolved_at) == ("assigned", None)


def test_fulfilling_a_request_in_its_change_form_stamps_fulfilled_at(acme_browser, acme_admin):
    service_request = RequestFactory(requester=acme_admin, status="approved")

    response = acme_browser.post(
        f"/admin/requests_app/request/{service_request.pk}/change/",
        {
            "title": service_request.title,
            "description": "",
            "status": "fulfilled",
            "priority": service_request.priority,
            "requester": acme_admin.pk,
            **split_datetime("due_at", service_request.due_at),
        },
    )

    assert response.status_code == 302
    service_request.refresh_from_db()
    assert service_request.fulfilled_at is not None


def test_an_sla_before_creation_is_a_form_error_not_a_crash(acme_browser, acme_admin):
    issue = IssueFactory(reporter=acme_admin)
    too_early = issue.created_at - timedelta(days=2)

    response = acme_browser.post(
        f"/admin/issues/issue/{issue.pk}/change/",
        issue_form(issue, **split_datetime("sla_due_at", too_early)),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    issue.refresh_from_db()
    assert issue.sla_due_at > issue.created_at


def test_admin_search_finds_an_issue_by_its_human_number(acme_browser, in_acme):
    from firelater.factories import UserFactory
    from issues.factories import IssueFactory

    issue = IssueFactory(reporter=UserFactory(), title="Needle")
    IssueFactory(reporter=UserFactory(), title="Haystack")
    response = acme_browser.get("/admin/issues/issue/", {"q": issue.display_number})
    assert response.status_code == 200
    assert b"Needle" in response.content
    assert b"Haystack" not in response.content


# --- Date-times the database could store but not give back -----------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "time"),
    [("America/New_York", "9999-12-31", "23:59:59"), ("Asia/Tokyo", "0001-01-01", "00:00:00")],
)
def test_a_date_time_outside_utc_is_a_form_error_not_a_row_no_list_can_read(
    acme_browser, acme_api, acme_admin, settings, zone, day, time
):
    # West of UTC 9999-12-31 23:59:59 is the year 10000 in UTC: PostgreSQL stored it,
    # psycopg could not read it back, and every issue list (API and admin) was a 500.
    settings.TIME_ZONE = zone
    issue = IssueFactory(reporter=acme_admin)
    form = issue_form(issue, sla_due_at_0=day, sla_due_at_1=time)

    response = acme_browser.post(f"/admin/issues/issue/{issue.pk}/change/", form)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sla_due_at"] == [
        "Date and time out of range."
    ]
    assert acme_api.get("/api/v1/issues/").status_code == 200
    assert acme_browser.get("/admin/issues/issue/").status_code == 200


def admin_date_time_form_fields(site, request) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """(where, form field) of every date-time input of every form and inline of a site."""
    found = []
    for model, model_admin in site._registry.items():
        obj = model()  # the change form: the add form may show fewer fields (users)
        forms = [(model.__name__, model_admin.get_form(request, obj))]
        forms += [
            (f"{model.__name__} inline {inline.model.__name__}", inline.get_formset(request).form)
            for inline in model_admin.get_inline_instances(request, obj)
        ]
        for where, form in forms:
            model_fields = {f.name: f for f in form._meta.model._meta.get_fields()}
            found.extend(
                (f"{where}.{name}", field)
                for name, field in form.base_fields.items()
                if isinstance(model_fields.get(name), models.DateTimeField)
            )
    return found


@pytest.mark.parametrize("site", [admin.site, platform_admin_site], ids=["tenant", "platform"])
def test_every_admin_date_time_input_is_held_to_utc(acme_admin, site):
    request = DjangoRequestFactory().get("/admin/")
    request.user = acme_admin

    fields = admin_date_time_form_fields(site, request)

    assert fields  # users (last login, date joined) at least
    assert [where for where, field in fields if not isinstance(field, UTCSplitDateTimeField)] == []
