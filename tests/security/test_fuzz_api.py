"""Fuzzing: schemathesis drives the tenant API from its own OpenAPI schema, in process.

The schema is generated when the module is collected (schemathesis parametrizes one test
per operation from it, and collection has no database); a test checks that it is exactly
what /api/schema/ serves on acme.localhost to acme's token, so the fuzzed contract is the
published one. (schemathesis.pytest.from_fixture, which would load it per test, fails on
pytest 9: it sets Node._nodeid, which pytest 9 removed.) Requests go through the real WSGI
application (middleware, tenant routing, token authentication), inside the test's
transaction.

Phases: the coverage phase (boundary values and invalid inputs of every parameter and
field, deterministic) and the fuzzing phase (random valid and invalid cases, bounded by
max_examples). Positive cases on a detail path use a record that exists, so updates,
deletes and health scores run for real instead of ending in a 404.

Checks: no 5xx, every status documented, the documented content type, and bodies that
match their schema. Not used: negative_data_rejection and positive_data_acceptance (their
verdicts depend on data the schema cannot express, e.g. a foreign key that does not exist
is valid by type but refused with 400), use_after_free and ensure_resource_availability
(stateful checks, no stateful phase here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django_tenants.utils import tenant_context
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from cloud.factories import CloudCostReportFactory
from firelater.factories import UserFactory
from issues.factories import IssueFactory
from requests_app.factories import CatalogItemFactory, RequestFactory

HOST = "acme.localhost"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def tenant_api_schema() -> dict[str, Any]:
    """The tenant API's OpenAPI document, as SpectacularAPIView renders it."""
    document = SchemaGenerator(urlconf="firelater.urls").get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


schema = schemathesis.openapi.from_dict(tenant_api_schema())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=10
)
schema.config.phases.update(phases=["coverage", "fuzzing"])


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """The real WSGI application, run inside the test's transaction.

    Django closes a connection that is inside a transaction at each request's start and end
    (close_old_connections); its test client disconnects that receiver, and so do we.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def acme_records(acme) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One record of each kind in acme, with every optional relation filled in."""
    with tenant_context(acme):
        user = UserFactory()
        application = ApplicationFactory()
        ApplicationHealthScoreFactory(application=application, score=64)
        return {
            "issues": IssueFactory(reporter=user, assignee=user, application=application).pk,
            "changes": ChangeFactory(application=application).pk,
            "requests": RequestFactory(requester=user, catalog_item=CatalogItemFactory()).pk,
            "applications": application.pk,
            # Not named by any request: a fuzzed DELETE may remove it.
            "catalog-items": CatalogItemFactory().pk,
            "cloud-costs": CloudCostReportFactory().pk,
        }


def use_existing_record(case: Any, records: dict[str, int]) -> None:
    """A valid id in a positive case names a record that exists, not a random number."""
    if "id" not in (case.path_parameters or {}):
        return
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return
    resource = case.operation.path.split("/")[3]  # /api/v1/<resource>/{id}/...
    case.path_parameters["id"] = records[resource]


def test_the_fuzzed_schema_is_the_one_acme_serves(acme_api):
    response = acme_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert json.loads(response.content) == tenant_api_schema()


@pytest.mark.slow  # about 25 s for all operations
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_conforms_to_its_schema_and_never_answers_500(
    case, wsgi_app, acme_api, acme_records, forget_token_throttling
):
    use_existing_record(case, acme_records)

    case.call_and_validate(
        base_url=f"http://{HOST}",
        headers={"Authorization": f"Token {acme_api.token}"},
        checks=CHECKS,
        app=wsgi_app,
    )


# --- Bugs the fuzzer found, pinned as plain tests --------------------------------------

LIST_DATE_FILTERS = [
    ("/api/v1/issues/", "created_after"),
    ("/api/v1/issues/", "resolved_before"),
    ("/api/v1/requests/", "due_after"),
    ("/api/v1/changes/", "scheduled_before"),
]


@pytest.mark.parametrize(("url", "name"), LIST_DATE_FILTERS)
def test_a_date_filter_with_an_offset_postgresql_refuses_is_converted_to_utc(
    acme_api, acme_records, url, name
):
    # -17:30 is a valid ISO 8601 offset for Python, out of range for PostgreSQL (was a 500).
    response = acme_api.get(url, {name: "2000-01-01T00:00:00-17:30"})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-17:00", "0001-01-01T00:00:00+05:00"])
def test_a_date_filter_outside_the_representable_range_is_a_400(acme_api, value):
    response = acme_api.get("/api/v1/issues/", {"created_after": value})

    assert response.status_code == 400
    assert response.json() == {"createdAfter": ["Date and time out of range."]}
