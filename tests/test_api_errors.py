"""Bad input and failures: always a JSON body with the right status, never an HTML page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.urls import get_resolver
from django.utils import timezone

from applications.factories import ApplicationFactory
from changes.factories import ChangeFactory
from firelater import api
from firelater.factories import UserFactory
from firelater.renderers import JSONRenderer
from issues.factories import IssueFactory
from issues.models import Issue
from requests_app.factories import RequestFactory as ServiceRequestFactory
from tests.utils import iso, json_error

# --- Malformed bodies -----------------------------------------------------------------------


def test_malformed_json_is_a_json_400(acme_api, in_acme):
    response = acme_api.post(
        "/api/v1/issues/", data='{"title": "unterminated', content_type="application/json"
    )

    body = json_error(response, 400)
    assert "JSON parse error" in body["detail"]
    assert not Issue.objects.exists()


def test_a_json_list_instead_of_an_object_is_a_400(acme_api, in_acme):
    body = json_error(acme_api.post("/api/v1/issues/", [{"title": "x"}], format="json"), 400)

    assert "nonFieldErrors" in body


def test_a_text_plain_body_is_a_json_415(acme_api, in_acme):
    response = acme_api.post("/api/v1/issues/", data="title=x", content_type="text/plain")

    body = json_error(response, 415)
    assert "text/plain" in body["detail"]


def test_a_body_over_the_upload_limit_is_a_json_413(acme_api, in_acme, settings):
    huge = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = acme_api.post(
        "/api/v1/issues/", {"title": "Big", "description": huge}, format="json"
    )

    body = json_error(response, 413)
    assert "too large" in body["detail"]
    assert not Issue.objects.exists()


def test_a_body_just_under_the_upload_limit_is_accepted(acme_api, in_acme, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    description = "x" * 1_900

    response = acme_api.post(
        "/api/v1/issues/", {"title": "Fits", "description": description}, format="json"
    )

    assert response.status_code == 201


def test_a_garbled_content_length_is_a_json_400(acme_api, in_acme):
    response = acme_api.post(
        "/api/v1/issues/", {"title": "x"}, format="json", CONTENT_LENGTH="lots"
    )

    json_error(response, 400)


# --- Field validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"title": "x", "priority": 5}, "priority", '"5" is not a valid choice.'),
        ({"title": None}, "title", "This field may not be null."),
        ({"title": ""}, "title", "This field may not be blank."),
        ({"title": "x" * 256}, "title", "Ensure this field has no more than 255 characters."),
        ({"description": "no title"}, "title", "This field is required."),
        (
            {"title": "x", "application": "abc"},
            "application",
            "Incorrect type. Expected pk value, received str.",
        ),
        (
            {"title": "x", "application": 999999999},
            "application",
            'Invalid pk "999999999" - object does not exist.',
        ),
        ({"title": "x", "status": "on_fire"}, "status", '"on_fire" is not a valid choice.'),
        ({"title": "x", "slaDueAt": "tomorrow"}, "slaDueAt", None),
    ],
)
def test_an_invalid_issue_field_is_a_400_naming_it(acme_api, in_acme, payload, field, message):
    body = json_error(acme_api.post("/api/v1/issues/", payload, format="json"), 400)

    assert list(body) == [field]
    if message:
        assert body[field] == [message]
    assert not Issue.objects.exists()


def test_an_inactive_user_cannot_be_assigned(acme_api, in_acme):
    former = UserFactory(is_active=False)

    body = json_error(
        acme_api.post("/api/v1/issues/", {"title": "x", "assignee": former.pk}, format="json"),
        400,
    )

    assert "assignee" in body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "risk": "extreme"}, "risk"),
        ({"title": "x", "type": "urgent"}, "type"),
        ({"title": "x", "status": "postponed"}, "status"),
        ({"title": "x", "scheduledStart": 12}, "scheduledStart"),
    ],
)
def test_an_invalid_change_field_is_a_400_naming_it(acme_api, in_acme, payload, field):
    body = json_error(acme_api.post("/api/v1/changes/", payload, format="json"), 400)

    assert list(body) == [field]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "status": "done"}, "status"),
        ({"title": "x", "priority": "p1"}, "priority"),
    ],
)
def test_an_invalid_request_field_is_a_400_naming_it(acme_api, in_acme, payload, field):
    body = json_error(acme_api.post("/api/v1/requests/", payload, format="json"), 400)

    assert list(body) == [field]


@pytest.mark.parametrize("tier", [0, 5, 9, "gold", None])
def test_an_application_tier_outside_1_to_4_is_a_400(acme_api, in_acme, tier):
    body = json_error(
        acme_api.post("/api/v1/applications/", {"name": "App", "tier": tier}, format="json"), 400
    )

    assert list(body) == ["tier"]


def test_a_duplicate_application_name_is_a_400_not_a_conflict(acme_api, in_acme):
    ApplicationFactory(name="Payments")

    body = json_error(
        acme_api.post("/api/v1/applications/", {"name": "Payments"}, format="json"), 400
    )

    assert list(body) == ["name"]


@pytest.mark.parametrize("score", [101, -1, 1000, "high", None, 50.5])
def test_a_health_score_outside_0_to_100_is_a_400(acme_api, in_acme, score):
    application = ApplicationFactory()

    body = json_error(
        acme_api.post(
            f"/api/v1/applications/{application.pk}/health-scores/", {"score": score}, format="json"
        ),
        400,
    )

    assert list(body) == ["score"]
    assert not application.health_scores.exists()


def test_a_health_score_for_an_unknown_application_is_a_json_404(acme_api, in_acme):
    json_error(
        acme_api.post("/api/v1/applications/999999999/health-scores/", {"score": 5}, format="json"),
        404,
    )


# --- Date order: a 400 from validation, never a 500 or a 409 from the constraint ------------


def test_an_issue_sla_in_the_past_is_a_400(acme_api, in_acme):
    yesterday = timezone.now() - timedelta(days=1)

    body = json_error(
        acme_api.post("/api/v1/issues/", {"title": "x", "slaDueAt": iso(yesterday)}, format="json"),
        400,
    )

    assert list(body) == ["slaDueAt"]


def test_moving_an_issue_sla_before_its_creation_is_a_400(acme_api, acme_admin):
    issue = IssueFactory(reporter=acme_admin)
    before = issue.created_at - timedelta(minutes=5)

    body = json_error(
        acme_api.patch(f"/api/v1/issues/{issue.pk}/", {"slaDueAt": iso(before)}, format="json"),
        400,
    )

    assert list(body) == ["slaDueAt"]


def test_a_request_due_before_its_creation_is_a_400(acme_api, acme_admin):
    yesterday = timezone.now() - timedelta(days=1)
    service_request = ServiceRequestFactory(requester=acme_admin)

    created = acme_api.post(
        "/api/v1/requests/", {"title": "x", "dueAt": iso(yesterday)}, format="json"
    )
    patched = acme_api.patch(
        f"/api/v1/requests/{service_request.pk}/",
        {"dueAt": iso(service_request.created_at - timedelta(seconds=1))},
        format="json",
    )

    assert list(json_error(created, 400)) == ["dueAt"]
    assert list(json_error(patched, 400)) == ["dueAt"]


def test_a_change_ending_before_it_starts_is_a_400(acme_api, in_acme):
    start = timezone.now() + timedelta(days=1)

    body = json_error(
        acme_api.post(
            "/api/v1/changes/",
            {
                "title": "x",
                "scheduledStart": iso(start),
                "scheduledEnd": iso(start - timedelta(hours=1)),
            },
            format="json",
        ),
        400,
    )

    assert list(body) == ["scheduledEnd"]


def test_moving_one_end_of_a_change_schedule_past_the_other_is_a_400(acme_api, in_acme):
    change = ChangeFactory()
    url = f"/api/v1/changes/{change.pk}/"

    too_early_end = iso(change.scheduled_start - timedelta(minutes=1))
    too_late_start = iso(change.scheduled_end + timedelta(minutes=1))

    json_error(acme_api.patch(url, {"scheduledEnd": too_early_end}, format="json"), 400)
    json_error(acme_api.patch(url, {"scheduledStart": too_late_start}, format="json"), 400)
    change.refresh_from_db()
    assert change.scheduled_start < change.scheduled_end


# --- Methods and URLs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("patch", "/api/v1/issues/"),
        ("put", "/api/v1/requests/"),
        ("delete", "/api/v1/changes/"),
        ("get", "/api/v1/auth/token/"),
        ("delete", "/api/v1/applications/1/health-scores/"),
    ],
)
def test_a_wrong_method_is_a_json_405(acme_api, in_acme, method, url):
    body = json_error(getattr(acme_api, method)(url, {}, format="json"), 405)

    assert method.upper() in body["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/nothing-here/",
        "/api/v2/issues/",
        "/api/",
        "/api/v1/issues/abc/",
        "/api/v1/issues/999999999/",
        "/no-such-page/",
    ],
)
def test_an_unknown_url_is_a_json_404(acme_api, in_acme, url):
    json_error(acme_api.get(url), 404)


# --- Server errors --------------------------------------------------------------------------


@pytest.mark.parametrize("urlconf", ["firelater.urls", "firelater.urls_public"])
def test_both_url_confs_use_the_json_error_handlers(urlconf):
    resolver = get_resolver(urlconf)

    assert resolver.resolve_error_handler(400) is api.json_bad_request
    assert resolver.resolve_error_handler(403) is api.json_permission_denied
    assert resolver.resolve_error_handler(404) is api.json_not_found
    assert resolver.resolve_error_handler(500) is api.json_server_error


def test_the_json_renderer_writes_a_lone_surrogate_as_a_replacement_character():
    # The JSON parser refuses "\ud800", so no request reaches this; should one get into a
    # response anyway (echoed in an error message), rendering must not fail with a 500.
    body = JSONRenderer().render({"status": ['"\ud800" is not a valid choice.']})

    assert json.loads(body.decode("utf-8")) == {"status": ['"\ufffd" is not a valid choice.']}


def test_the_server_error_handler_answers_json_500():
    response = api.json_server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b"Internal server error." in response.content


@pytest.mark.urls("tests.urls_crash")
@pytest.mark.parametrize("url", ["/test-crash/", "/api/v1/test-crash/"])
def test_a_crash_in_a_view_is_a_json_500_without_a_traceback(acme_api, url, settings):
    acme_api.raise_request_exception = False

    response = acme_api.get(url)

    body = json_error(response, 500)
    assert body == {"detail": "Internal server error."}
    assert b"Traceback" not in response.content
    assert not settings.DEBUG


def test_a_public_host_404_is_json_too(db):
    json_error(Client(HTTP_HOST="localhost").get("/nothing/"), 404)


def test_a_post_without_the_trailing_slash_is_not_redirected(acme_api, in_acme):
    response = acme_api.post("/api/v1/issues", {"title": "No slash"}, format="json")
    assert response.status_code == 201
    assert response.json()["title"] == "No slash"


def test_an_invalid_boolean_filter_is_a_400(acme_api, in_acme):
    response = acme_api.get("/api/v1/issues/?is_open=maybe")
    assert response.status_code == 400
    assert "isOpen" in response.json() or "is_open" in response.json()


def test_a_null_character_in_search_is_a_json_object_400(acme_api, in_acme):
    response = acme_api.get("/api/v1/issues/?search=%00")
    assert response.status_code == 400
    assert isinstance(response.json(), dict)
