"""List endpoints: filters, ordering, search and pagination."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from applications.factories import ApplicationFactory
from changes.factories import ChangeFactory
from firelater.api import camel_case
from firelater.filters import filter_names
from firelater.urls import router
from issues.factories import IssueFactory
from issues.filters import IssueFilter
from issues.models import Issue
from requests_app.factories import RequestFactory
from tests.utils import json_error


def titles(response) -> set[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return {row["title"] for row in response.json()["results"]}


@pytest.fixture
def triage_board(acme_admin):  # type: ignore[no-untyped-def]
    """Four issues that differ in status, priority, application and age."""
    payments = ApplicationFactory(name="Payments")
    now = timezone.now()
    IssueFactory(
        reporter=acme_admin,
        title="Card declined",
        status="new",
        priority="critical",
        application=payments,
        created_at=now - timedelta(days=10),
    )
    IssueFactory(
        reporter=acme_admin,
        title="Slow reports",
        status="assigned",
        priority="low",
        created_at=now - timedelta(days=5),
    )
    IssueFactory(
        reporter=acme_admin,
        title="Refund stuck",
        status="resolved",
        priority="high",
        application=payments,
        created_at=now - timedelta(days=2),
    )
    IssueFactory(
        reporter=acme_admin,
        title="Printer jam",
        status="closed",
        priority="medium",
        created_at=now - timedelta(hours=1),
    )
    return {"payments": payments, "now": now}


def test_status_filter_accepts_several_values(acme_api, triage_board):
    response = acme_api.get("/api/v1/issues/", {"status": ["new", "closed"]})

    assert titles(response) == {"Card declined", "Printer jam"}


def test_priority_filter_selects_matching_issues(acme_api, triage_board):
    assert titles(acme_api.get("/api/v1/issues/?priority=critical")) == {"Card declined"}
    assert titles(acme_api.get("/api/v1/issues/?priority=high&priority=low")) == {
        "Refund stuck",
        "Slow reports",
    }


def test_application_filter_selects_that_applications_issues(acme_api, triage_board):
    response = acme_api.get("/api/v1/issues/", {"application": triage_board["payments"].pk})

    assert titles(response) == {"Card declined", "Refund stuck"}


def test_created_after_and_before_bound_the_creation_time(acme_api, triage_board):
    now = triage_board["now"]

    response = acme_api.get(
        "/api/v1/issues/",
        {
            "created_after": (now - timedelta(days=6)).isoformat(),
            "created_before": (now - timedelta(days=1)).isoformat(),
        },
    )

    assert titles(response) == {"Slow reports", "Refund stuck"}


def test_is_open_splits_open_from_done_issues(acme_api, triage_board):
    assert titles(acme_api.get("/api/v1/issues/?is_open=true")) == {
        "Card declined",
        "Slow reports",
    }
    assert titles(acme_api.get("/api/v1/issues/?is_open=false")) == {
        "Refund stuck",
        "Printer jam",
    }


@pytest.mark.parametrize(
    ("query", "error_key"),
    [
        ("status=bogus", "status"),
        ("priority=5", "priority"),
        ("application=abc", "application"),
        ("application=999999999", "application"),
        ("created_after=yesterday", "createdAfter"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_parameter(
    acme_api, triage_board, query, error_key
):
    body = json_error(acme_api.get(f"/api/v1/issues/?{query}"), 400)

    assert list(body) == [error_key]


def test_requests_and_changes_filter_by_status(acme_api, acme_admin):
    RequestFactory(requester=acme_admin, title="Laptop", status="approved")
    RequestFactory(requester=acme_admin, title="Phone", status="rejected")
    ChangeFactory(title="Upgrade", status="scheduled", risk="high")
    ChangeFactory(title="Rollback", status="failed", risk="low")

    assert titles(acme_api.get("/api/v1/requests/?status=approved")) == {"Laptop"}
    assert titles(acme_api.get("/api/v1/changes/?status=failed")) == {"Rollback"}
    assert titles(acme_api.get("/api/v1/changes/?risk=high")) == {"Upgrade"}


def test_applications_filter_by_tier(acme_api, in_acme):
    ApplicationFactory(name="Core", tier=1)
    ApplicationFactory(name="Wiki", tier=4)

    response = acme_api.get("/api/v1/applications/?tier=1")

    assert [row["name"] for row in response.json()["results"]] == ["Core"]


# --- Ordering -------------------------------------------------------------------------------


def test_issues_are_newest_first_by_default(acme_api, triage_board):
    results = acme_api.get("/api/v1/issues/").json()["results"]

    assert [row["title"] for row in results] == [
        "Printer jam",
        "Refund stuck",
        "Slow reports",
        "Card declined",
    ]


@pytest.mark.parametrize("field", ["createdAt", "created_at"])
def test_ordering_accepts_camel_case_and_snake_case_names(acme_api, triage_board, field):
    results = acme_api.get(f"/api/v1/issues/?ordering={field}").json()["results"]

    assert [row["title"] for row in results] == [
        "Card declined",
        "Slow reports",
        "Refund stuck",
        "Printer jam",
    ]


def test_ordering_by_several_fields_with_descending_terms(acme_api, triage_board):
    results = acme_api.get("/api/v1/issues/?ordering=-slaDueAt,number").json()["results"]

    due = [row["slaDueAt"] for row in results]
    assert due == sorted(due, reverse=True)


@pytest.mark.parametrize("field", ["password", "reporter__password", "title", "-bogus"])
def test_ordering_by_an_unknown_field_is_a_400(acme_api, triage_board, field):
    body = json_error(acme_api.get(f"/api/v1/issues/?ordering={field}"), 400)

    assert "ordering" in body
    assert "Unknown ordering field" in body["ordering"][0]


def test_applications_can_be_ordered_by_their_latest_score(acme_api, in_acme):
    for name, score in [("Low", 10), ("High", 90), ("Mid", 50)]:
        ApplicationFactory(name=name).health_scores.create(score=score)

    results = acme_api.get("/api/v1/applications/?ordering=-latestScore").json()["results"]

    assert [row["name"] for row in results] == ["High", "Mid", "Low"]


# --- Search ---------------------------------------------------------------------------------


def test_search_matches_title_and_description(acme_api, acme_admin):
    IssueFactory(reporter=acme_admin, title="Printer jam", description="")
    IssueFactory(reporter=acme_admin, title="Broken", description="the PRINTER is smoking")
    IssueFactory(reporter=acme_admin, title="VPN down", description="")

    assert titles(acme_api.get("/api/v1/issues/?search=printer")) == {"Printer jam", "Broken"}


def test_search_works_on_every_resource(acme_api, acme_admin):
    RequestFactory(requester=acme_admin, title="Laptop for Sam")
    ChangeFactory(title="Upgrade Postgres")
    ApplicationFactory(name="Payments", owner="Finance")

    assert titles(acme_api.get("/api/v1/requests/?search=laptop")) == {"Laptop for Sam"}
    assert titles(acme_api.get("/api/v1/changes/?search=postgres")) == {"Upgrade Postgres"}
    apps = acme_api.get("/api/v1/applications/?search=finance").json()["results"]
    assert [row["name"] for row in apps] == ["Payments"]


# --- Pagination -----------------------------------------------------------------------------


@pytest.fixture
def many_issues(acme_admin):  # type: ignore[no-untyped-def]
    return Issue.objects.bulk_create(IssueFactory.build_batch(105, reporter=acme_admin))


def test_a_list_body_has_count_next_previous_and_results(acme_api, many_issues):
    body = acme_api.get("/api/v1/issues/").json()

    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 105
    assert len(body["results"]) == 25
    assert body["previous"] is None
    assert "page=2" in body["next"]


def test_page_size_is_honoured_and_pages_link_to_each_other(acme_api, many_issues):
    first = acme_api.get("/api/v1/issues/?page_size=10").json()
    second = acme_api.get("/api/v1/issues/?page_size=10&page=2").json()

    assert len(first["results"]) == len(second["results"]) == 10
    assert "page_size=10" in first["next"]
    assert second["previous"] is not None
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}


def test_page_size_is_capped_at_100(acme_api, many_issues):
    body = acme_api.get("/api/v1/issues/?page_size=1000").json()

    assert len(body["results"]) == 100
    assert body["count"] == 105


def test_the_last_page_has_no_next_link(acme_api, many_issues):
    body = acme_api.get("/api/v1/issues/?page_size=100&page=2").json()

    assert len(body["results"]) == 5
    assert body["next"] is None


@pytest.mark.parametrize("page", ["99", "0", "abc"])
def test_a_page_out_of_range_is_a_json_404(acme_api, many_issues, page):
    body = json_error(acme_api.get(f"/api/v1/issues/?page={page}"), 404)

    assert "detail" in body


def test_every_list_endpoint_is_paginated(acme_api, in_acme):
    application = ApplicationFactory()

    for url in [
        "/api/v1/issues/",
        "/api/v1/requests/",
        "/api/v1/changes/",
        "/api/v1/applications/",
        f"/api/v1/applications/{application.pk}/health-scores/",
    ]:
        body = acme_api.get(url).json()
        assert set(body) == {"count", "next", "previous", "results"}, url


# --- Query parameter names: camelCase or snake_case, and nothing unknown ---------------------


def list_endpoints() -> list[Any]:
    """(path, viewset) of every list: each router list, and each GET action that lists."""
    cases = []
    for prefix, viewset, _basename in router.registry:
        if getattr(viewset, "pagination_class", None) is None or not hasattr(viewset, "list"):
            continue  # the dashboard: not a paginated list
        cases.append(pytest.param(f"/api/v1/{prefix}/", id=prefix))
        cases.extend(
            pytest.param(f"/api/v1/{prefix}/{{id}}/{action.url_path}/", id=action.url_path)
            for action in viewset.get_extra_actions()
            if action.detail and "get" in action.mapping
        )
    return cases


def multiword_filters() -> list[Any]:
    return [
        pytest.param(f"/api/v1/{prefix}/", name, id=f"{prefix}?{camel_case(name)}")
        for prefix, viewset, _basename in router.registry
        if getattr(viewset, "filterset_class", None)
        for name in filter_names(viewset.filterset_class)
        if camel_case(name) != name
    ]


@pytest.mark.parametrize(("path", "name"), multiword_filters())
def test_every_filter_is_read_by_its_camel_case_name(acme_api, triage_board, path, name):
    # An invalid value proves the filter read it: ignored, it would be a 200 of everything.
    body = json_error(acme_api.get(path, {camel_case(name): "not-a-value"}), 400)

    assert list(body) == [camel_case(name)]


@pytest.mark.parametrize(("after", "before"), [("createdAfter", "createdBefore")])
def test_camel_case_date_filters_bound_the_creation_time(acme_api, triage_board, after, before):
    now = triage_board["now"]
    bounds = {
        after: (now - timedelta(days=6)).isoformat(),
        before: (now - timedelta(days=1)).isoformat(),
    }

    assert titles(acme_api.get("/api/v1/issues/", bounds)) == {"Slow reports", "Refund stuck"}


def test_is_open_filters_by_its_camel_case_name(acme_api, triage_board):
    assert titles(acme_api.get("/api/v1/issues/?isOpen=true")) == {"Card declined", "Slow reports"}


def test_page_size_is_honoured_by_its_camel_case_name(acme_api, many_issues):
    body = acme_api.get("/api/v1/issues/?pageSize=10").json()

    assert len(body["results"]) == 10


@pytest.mark.parametrize("path", list_endpoints())
def test_an_unknown_query_parameter_on_a_list_is_a_400_naming_it(acme_api, in_acme, path):
    path = path.format(id=ApplicationFactory().pk)

    body = json_error(acme_api.get(path, {"bogus": "1", "statusIn": "new", "page": "1"}), 400)

    assert body["unknownParameters"] == ["bogus", "statusIn"]
    assert "bogus, statusIn" in body["detail"]
    assert {"page", "pageSize", "format"} <= set(body["allowedParameters"])


def test_the_allowed_parameters_of_a_list_are_its_filters_ordering_search_and_pages(
    acme_api, in_acme
):
    body = json_error(acme_api.get("/api/v1/issues/?bogus=1"), 400)

    assert body["allowedParameters"] == sorted(
        {camel_case(name) for name in filter_names(IssueFilter)}
        | {"ordering", "search", "page", "pageSize", "format"}
    )


def test_health_scores_do_not_take_the_applications_filters(acme_api, in_acme):
    # The scores list never applied them: a tier filter there returned every score.
    application = ApplicationFactory()

    body = json_error(
        acme_api.get(f"/api/v1/applications/{application.pk}/health-scores/?tier=1"), 400
    )

    assert body["unknownParameters"] == ["tier"]
    assert body["allowedParameters"] == ["format", "page", "pageSize"]


@pytest.mark.parametrize("path", list_endpoints())
def test_a_list_accepts_exactly_the_parameters_its_schema_documents(acme_api, in_acme, path):
    document = SchemaGenerator(urlconf="firelater.urls").get_schema(request=None, public=True)
    documented = {
        camel_case(parameter["name"])
        for parameter in document["paths"][path]["get"]["parameters"]
        if parameter["in"] == "query"
    }

    body = json_error(acme_api.get(path.format(id=ApplicationFactory().pk), {"bogus": "1"}), 400)

    assert set(body["allowedParameters"]) == documented | {"format"}


@pytest.mark.parametrize(
    "url", ["/api/v1/dashboard/trends/?days=7", "/api/v1/dashboard/activity/?limit=5"]
)
def test_the_dashboard_parameters_are_unaffected(acme_api, in_acme, url):
    assert acme_api.get(url).status_code == 200
