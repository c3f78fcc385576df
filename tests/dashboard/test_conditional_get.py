"""The dashboard's freshness as its clients see it: ETags and 304s, read-your-writes
through the API, the browsable API and the page, bounded staleness for everyone else."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from firelater import roles
from firelater.factories import UserFactory

OVERVIEW = "/api/v1/dashboard/overview/"
NEW_ISSUE = {"title": "printer on fire", "priority": "critical"}


@pytest.fixture
def bounded(settings):  # type: ignore[no-untyped-def]
    settings.CACHE_MAX_STALE = 10.0
    settings.CACHE_REFRESH_AHEAD = 0  # its thread would read outside the test transaction


@pytest.fixture
def colleague(acme) -> APIClient:  # type: ignore[no-untyped-def]
    """Another user of acme, on the API."""
    with tenant_context(acme):
        token = Token.objects.create(user=UserFactory(is_staff=False, roles=[roles.AGENT]))
    return APIClient(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Token {token.key}")


def test_a_dashboard_response_carries_an_etag_and_if_none_match_gets_a_304_without_body(
    acme_api, in_acme
):
    first = acme_api.get(OVERVIEW)
    etag = first["ETag"]
    assert etag.startswith('"')
    assert first["X-Cache"] == "MISS"
    again = acme_api.get(OVERVIEW, HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    assert again["X-Cache"] == "HIT"
    assert acme_api.get(OVERVIEW, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert acme_api.get(OVERVIEW, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_after_a_write_the_old_etag_gets_the_new_body(
    acme_api, in_acme, django_capture_on_commit_callbacks
):
    etag = acme_api.get(OVERVIEW)["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        assert acme_api.post("/api/v1/issues/", NEW_ISSUE, format="json").status_code == 201
    changed = acme_api.get(OVERVIEW, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["issues"]["total"] >= 1


def test_the_browsable_api_has_its_own_etag(acme_browser, in_acme):
    page = acme_browser.get(OVERVIEW, HTTP_ACCEPT="text/html")
    json_tag = acme_browser.get(OVERVIEW, HTTP_ACCEPT="application/json")["ETag"]
    assert page["ETag"] != json_tag
    again = acme_browser.get(OVERVIEW, HTTP_ACCEPT="text/html", HTTP_IF_NONE_MATCH=page["ETag"])
    assert again.status_code == 304


def test_the_writer_sees_its_write_at_once_and_a_colleague_may_get_the_previous_value(
    acme_api, colleague, in_acme, bounded, django_capture_on_commit_callbacks
):
    before = acme_api.get(OVERVIEW).json()["issues"]["total"]
    with django_capture_on_commit_callbacks(execute=True):
        assert acme_api.post("/api/v1/issues/", NEW_ISSUE, format="json").status_code == 201
    theirs = colleague.get(OVERVIEW)
    assert (theirs["X-Cache"], theirs.json()["issues"]["total"]) == ("STALE", before)
    mine = acme_api.get(OVERVIEW)
    assert (mine["X-Cache"], mine.json()["issues"]["total"]) == ("MISS", before + 1)
    assert colleague.get(OVERVIEW).json()["issues"]["total"] == before + 1  # now current


def test_a_session_users_write_is_on_their_page_and_browsable_api_at_once(
    acme, in_acme, bounded, django_capture_on_commit_callbacks
):
    """The page and the browsable API are session-authenticated: the writer's session
    makes them the actor, so their write is on both at once; a colleague's page may show
    the previous figures (STALE)."""
    writer, other = Client(HTTP_HOST="acme.localhost"), Client(HTTP_HOST="acme.localhost")
    writer.force_login(UserFactory(is_staff=True, roles=[roles.AGENT]))
    other.force_login(UserFactory(is_staff=True, roles=[roles.AGENT]))
    assert writer.get("/").status_code == 200  # warms every entry the page shows
    before = writer.get(OVERVIEW, HTTP_ACCEPT="application/json").json()["issues"]["total"]
    with django_capture_on_commit_callbacks(execute=True):
        created = writer.post("/api/v1/issues/", NEW_ISSUE, content_type="application/json")
    assert created.status_code == 201
    assert "STALE" in other.get("/")["X-Cache-Entries"]
    page = writer.get("/")
    assert "STALE" not in page["X-Cache-Entries"]
    browsable = writer.get(OVERVIEW, HTTP_ACCEPT="text/html")
    assert browsable["X-Cache"] in {"MISS", "HIT"}
    assert writer.get(OVERVIEW, HTTP_ACCEPT="application/json").json()["issues"]["total"] == (
        before + 1
    )
