"""Hostile input schemathesis does not generate (issue #18), sent everywhere it can land.

The targets are derived, not listed: every write of every viewset in the tenant router (and
its POST actions), every writable foreign key, choice, date-time and plain field of their
serializers, every filter of every list, every list filter, search box and autocomplete of
both admin sites. A new endpoint or field is fuzzed without touching this file.

Every answer must be a 400 whose body is valid UTF-8 JSON (no lone surrogate escapes
either), and no row of the tenant's data may have changed. PUT runs the same serializer
as POST and is not sent separately.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from djangorestframework_camel_case.util import camelize
from rest_framework import relations, serializers

from applications.factories import ApplicationFactory, ApplicationHealthScoreFactory
from changes.factories import ChangeFactory
from cloud.factories import CloudCostReportFactory
from firelater.api import accepted_query_parameters
from firelater.urls import router
from issues.factories import IssueFactory
from requests_app.factories import CatalogItemFactory, RequestFactory
from tenants.admin import platform_admin_site

DATA_APPS = ["issues", "requests_app", "changes", "applications"]
# JSON endpoints outside the router.
OTHER_JSON_WRITES = ["/api/v1/auth/token/", "/api/admin/cache/invalidate"]


def camel(name: str) -> str:
    """A field's JSON key, exactly as the renderer spells it."""
    return str(next(iter(camelize({name: None}))))


@dataclass(frozen=True)
class Write:
    method: str
    path: str  # "{id}" stands for the id of a record of `resource`
    resource: str
    serializer_class: type[serializers.Serializer]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def router_writes() -> list[Write]:
    found = []
    for prefix, viewset, _basename in router.registry:
        serializer_class = getattr(viewset, "serializer_class", None)
        if hasattr(viewset, "create"):
            found.append(Write("post", f"/api/v1/{prefix}/", prefix, serializer_class))
        if hasattr(viewset, "partial_update"):
            found.append(Write("patch", f"/api/v1/{prefix}/{{id}}/", prefix, serializer_class))
        for action in viewset.get_extra_actions():
            for method in {"post", "put", "patch"} & set(action.mapping):
                detail = "{id}/" if action.detail else ""
                found.append(
                    Write(
                        method,
                        f"/api/v1/{prefix}/{detail}{action.url_path}/",
                        prefix,
                        action.kwargs.get("serializer_class", serializer_class),
                    )
                )
    return found


WRITES = router_writes()


def writable_fields(kind: type | tuple[type, ...] = object) -> list[Any]:
    cases = []
    for write in WRITES:
        for name, field in write.serializer_class().fields.items():
            if not field.read_only and isinstance(field, kind):
                cases.append(pytest.param(write, name, field, id=f"{write}:{camel(name)}"))
    return cases


def minimal_body(serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """The smallest valid body: each required field with a plain valid value."""
    body: dict[str, Any] = {}
    for name, field in serializer_class().fields.items():
        if field.read_only or not field.required:
            continue
        if isinstance(field, serializers.ChoiceField):
            value: Any = next(iter(field.choices))
        elif isinstance(field, serializers.IntegerField):
            value = field.min_value or 0
        elif isinstance(field, serializers.CharField):
            value = "Hostile input"
        elif isinstance(field, serializers.DecimalField):
            value = "1.00"
        elif isinstance(field, serializers.DateField):
            value = "2026-01-01"  # the first of a month: a monthly report's start
        else:
            raise AssertionError(f"teach minimal_body a value for {name} ({type(field)})")
        body[camel(name)] = value
    return body


def body_text(base: dict[str, Any], key: str, raw_value: str) -> str:
    """The base body with `key` set to a raw JSON text (1e999 and NaN have no Python form)."""
    members = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in base.items() if k != key]
    members.append(f"{json.dumps(key)}: {raw_value}")
    return "{" + ", ".join(members) + "}"


def tenant_rows() -> dict[str, list[dict[str, Any]]]:
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for label in DATA_APPS
        for model in apps.get_app_config(label).get_models()
    }


@pytest.fixture
def records(in_acme, acme_admin) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A record of each router resource, every optional relation filled in."""
    application = ApplicationFactory()
    ApplicationHealthScoreFactory(application=application, score=64)
    issue = IssueFactory(reporter=acme_admin, assignee=acme_admin, application=application)
    return {
        "issues": issue.pk,
        "requests": RequestFactory(requester=acme_admin, catalog_item=CatalogItemFactory()).pk,
        "changes": ChangeFactory(application=application).pk,
        "applications": application.pk,
        "catalog-items": CatalogItemFactory().pk,
        "cloud-costs": CloudCostReportFactory().pk,
    }


@pytest.fixture
def api(acme_api):  # type: ignore[no-untyped-def]
    acme_api.raise_request_exception = False  # a crash must show as its 500, not a raise
    return acme_api


def send(api: Any, write: Write, records: dict[str, int], body: str | bytes) -> Any:
    path = write.path.format(id=records[write.resource])
    return getattr(api, write.method)(path, data=body, content_type="application/json")


def assert_refused(response: Any, rows_before: dict[str, Any] | None = None) -> dict[str, Any]:
    """A 400 with a JSON object body that is valid UTF-8, and (if given) no row changed.

    Exactly 400: every case here is bad input, and a 404 (a path that moved) must not
    pass for a refusal.
    """
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content.decode("utf-8"))  # strict UTF-8
    assert isinstance(body, dict)
    assert body
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # and no "\ud800" escapes in it
    if rows_before is not None:
        assert tenant_rows() == rows_before
    return body


@pytest.mark.parametrize("write", WRITES, ids=str)
def test_the_minimal_body_each_hostile_case_starts_from_is_accepted(api, records, write):
    response = send(api, write, records, json.dumps(minimal_body(write.serializer_class)))

    assert response.status_code in (200, 201), response.content


# --- Foreign keys: integers only --------------------------------------------------------------

# {id} is the id of an existing row, so a truncated 1.9 would name something real.
FOREIGN_KEY_VALUES = [
    "1e999",
    "-1e999",
    "Infinity",
    "-Infinity",
    "NaN",
    "true",
    "false",
    "{id}.9",
    "{id}.5e0",
    "{id}e0",
    "9223372036854775808",
    "-1",
    "0",
    '"{id}.9"',
    '"Infinity"',
    '"1e999"',
    "[{id}]",
    '{{"id": {id}}}',
]


@pytest.mark.parametrize("value", FOREIGN_KEY_VALUES)
@pytest.mark.parametrize(("write", "name", "field"), writable_fields(relations.RelatedField))
def test_a_foreign_key_that_is_not_an_integer_id_is_a_400(api, records, write, name, field, value):
    target = field.get_queryset().order_by("pk").values_list("pk", flat=True).first()
    assert target is not None, f"no {field.get_queryset().model.__name__} to point at"
    base = minimal_body(write.serializer_class)
    rows = tenant_rows()

    response = send(api, write, records, body_text(base, camel(name), value.format(id=target)))

    body = assert_refused(response, rows)
    assert camel(name) in body or "detail" in body


@pytest.mark.parametrize("value", ["{id}", '"{id}"'])
@pytest.mark.parametrize(("write", "name", "field"), writable_fields(relations.RelatedField))
def test_a_foreign_key_given_as_its_id_or_its_digits_is_accepted(
    api, records, write, name, field, value
):
    target = field.get_queryset().order_by("pk").values_list("pk", flat=True).first()
    base = minimal_body(write.serializer_class)

    response = send(api, write, records, body_text(base, camel(name), value.format(id=target)))

    assert response.status_code in (200, 201), response.content
    assert response.json()[camel(name)] == target


# --- Strings that cannot be stored: lone surrogates and NUL, in every writable field ---------

UNSTORABLE_STRINGS = ['"\\ud800"', '"\\udfff"', '"new\\udbff"', '"\\u0000"', '"x\\u0000y"']


@pytest.mark.parametrize("value", UNSTORABLE_STRINGS)
@pytest.mark.parametrize(("write", "name", "field"), writable_fields())
def test_a_string_that_cannot_be_stored_is_a_400_in_any_field(
    api, records, write, name, field, value
):
    base = minimal_body(write.serializer_class)
    rows = tenant_rows()

    response = send(api, write, records, body_text(base, camel(name), value))

    assert_refused(response, rows)


# --- Date-times that exist in one time zone and not in another -------------------------------

# (TIME_ZONE, value): each fits in one of UTC and TIME_ZONE but not in the other.
UNREPRESENTABLE_MOMENTS = [
    ("America/New_York", "9999-12-31T23:59:59"),  # naive: 10000-01-01T04:59:59 in UTC
    ("America/New_York", "9999-12-31T23:59:59.999999"),
    ("America/New_York", "0001-01-01T00:00:00Z"),  # the year 0 in New York
    ("Asia/Tokyo", "0001-01-01T00:00:00"),  # naive: the year 0 in UTC
    ("Asia/Tokyo", "9999-12-31T23:59:59Z"),
    ("UTC", "9999-12-31T23:59:59-00:01"),
    ("UTC", "0001-01-01T00:00:00+23:59"),
]


@pytest.mark.parametrize(("zone", "value"), UNREPRESENTABLE_MOMENTS)
@pytest.mark.parametrize(("write", "name", "field"), writable_fields(serializers.DateTimeField))
def test_a_date_time_outside_the_representable_range_is_a_400(
    api, records, settings, write, name, field, zone, value
):
    settings.TIME_ZONE = zone
    base = minimal_body(write.serializer_class)
    rows = tenant_rows()

    response = send(api, write, records, body_text(base, camel(name), json.dumps(value)))

    body = assert_refused(response, rows)
    assert body == {camel(name): ["Datetime value out of range."]}


def test_a_stored_moment_that_does_not_fit_the_time_zone_is_shown_in_utc(api, in_acme, settings):
    # Saved while TIME_ZONE was UTC; in New York it would be the year 0: every read of the
    # list failed on it (a 400 for a GET) instead of showing it.
    ChangeFactory(scheduled_start=dt.datetime(1, 1, 1, tzinfo=dt.UTC), scheduled_end=None)
    settings.TIME_ZONE = "America/New_York"

    response = api.get("/api/v1/changes/")

    assert response.status_code == 200, response.content
    assert [row["scheduledStart"] for row in response.json()["results"]] == ["0001-01-01T00:00:00Z"]


# --- Whole bodies: nesting, non-numbers, bytes that are not UTF-8 ----------------------------

HOSTILE_BODIES = {
    "900 nested arrays (1.8 KB)": "[" * 900 + "]" * 900,
    "100,000 open arrays": "[" * 100_000,
    "1,000 nested objects": '{"a": ' * 1000 + "1" + "}" * 1000,
    "nesting inside a field": '{"title": ' + "[" * 5000 + "]" * 5000 + "}",
    "65 levels": "[" * 65 + "]" * 65,
    "NaN": "NaN",
    "1e999": "1e999",
    "a lone surrogate in a key": '{"\\ud800": 1}',
    "not UTF-8": b'{"title": "caf\xe9"}',
    "an unterminated string of escaped quotes": '{"title": "' + '\\"' * 50_000,
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
@pytest.mark.parametrize("write", WRITES, ids=str)
def test_a_hostile_body_is_a_400_on_every_write(api, records, write, body):
    rows = tenant_rows()

    response = send(api, write, records, body)

    assert_refused(response, rows)


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
@pytest.mark.parametrize("path", OTHER_JSON_WRITES)
def test_a_hostile_body_is_a_400_on_the_other_json_endpoints(api, in_acme, path, body):
    assert_refused(api.post(path, data=body, content_type="application/json"))


def test_nesting_up_to_the_limit_still_parses(api, records):
    # Depth 64 is accepted by the parser (and then refused by the serializer as not an object).
    body = assert_refused(
        api.post("/api/v1/issues/", data="[" * 64 + "]" * 64, content_type="application/json")
    )

    assert "nonFieldErrors" in body


# --- NUL in query strings: API lists and both admin sites ------------------------------------


def list_parameters() -> list[Any]:
    """Every query parameter every router list accepts (in both spellings)."""
    cases = []
    for prefix, viewset, _basename in router.registry:
        if getattr(viewset, "pagination_class", None) is None or not hasattr(viewset, "list"):
            continue
        view = viewset(action="list", format_kwarg=None)
        cases.extend(
            pytest.param(f"/api/v1/{prefix}/", name, id=f"{prefix}?{name}")
            for name in sorted(accepted_query_parameters(view))
        )
    return cases


@pytest.mark.parametrize(("path", "name"), list_parameters())
def test_a_nul_in_any_list_parameter_is_a_400(api, records, path, name):
    assert_refused(api.get(f"{path}?{name}=%00"))


def admin_urls(site: admin.AdminSite) -> list[str]:
    """Each changelist's search and list filters, and each autocomplete, with a NUL."""
    urls = []
    for model, model_admin in site._registry.items():
        changelist = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        if model_admin.search_fields:
            urls.append(f"{changelist}?q=%00")
        for spec in model_admin.list_filter:
            name = spec if isinstance(spec, str) else getattr(spec, "parameter_name", spec[0])
            urls.append(f"{changelist}?{name}__exact=%00")
        urls.extend(
            f"/admin/autocomplete/?term=%00&app_label={model._meta.app_label}"
            f"&model_name={model._meta.model_name}&field_name={field}"
            for field in model_admin.autocomplete_fields
        )
    return urls


@pytest.mark.parametrize("url", admin_urls(admin.site))
def test_a_nul_in_a_tenant_admin_query_is_a_400(acme_browser, url):
    acme_browser.raise_request_exception = False

    assert_refused(acme_browser.get(url))


@pytest.fixture
def platform_browser(db) -> Client:  # type: ignore[no-untyped-def]
    get_user_model().objects.create_superuser("platform", "p@example.com", "platform-pass-1")
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    assert client.login(username="platform", password="platform-pass-1")
    return client


@pytest.mark.parametrize("url", admin_urls(platform_admin_site))
def test_a_nul_in_a_platform_admin_query_is_a_400(platform_browser, url):
    assert_refused(platform_browser.get(url))


def test_a_literal_percent_zero_zero_is_not_a_nul(api, records):
    # "%2500" decodes to the text "%00": an ordinary search term.
    response = api.get("/api/v1/issues/?search=100%2500")

    assert response.status_code == 200
    assert response.json()["count"] == 0
