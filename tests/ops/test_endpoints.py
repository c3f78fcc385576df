"""/healthz, /readyz, /metrics, request ids, JSON logs and the OpenAPI schema."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client
from django.utils.module_loading import import_string
from prometheus_client.parser import text_string_to_metric_families

from firelater.request_log import RequestContextFilter
from tests.support.fixtures import point_cache_at
from tests.support.processes import free_port


@pytest.mark.parametrize("host", ["acme.localhost", "localhost", "unknown.example"])
def test_liveness_answers_on_every_host_without_io(host):
    # No `db` fixture: any database access here would raise.
    response = Client(HTTP_HOST=host).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readiness_is_ok_with_both_services(db):
    response = Client(HTTP_HOST="acme.localhost").get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["redis"]["ok"]


def test_readiness_with_redis_down_is_degraded_but_200(db, settings):
    point_cache_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    response = Client(HTTP_HOST="localhost").get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"]["ok"] is False


def test_readiness_with_redis_stopped_for_real(db, private_redis):
    private_redis.kill()
    response = Client(HTTP_HOST="acme.localhost").get("/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "degraded")


def test_metrics_are_served_to_loopback_without_a_proxy(acme_api, in_acme):
    acme_api.get("/api/v1/dashboard/overview/")
    acme_api.get("/api/v1/dashboard/overview/")
    response = Client(HTTP_HOST="acme.localhost").get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'firelater_cache_results_total{entry="dashboard:overview",result="HIT"}' in text
    assert "firelater_request_duration_seconds_bucket" in text
    assert "firelater_cache_breaker_open" in text


def test_metrics_are_hidden_from_proxied_requests(db):
    client = Client(HTTP_HOST="acme.localhost", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token_when_one_is_configured(db, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    client = Client(HTTP_HOST="localhost")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}


def request_metric_series() -> set[tuple[str, str, str]]:
    """(view, method, status) of every series of the request metric on /metrics."""
    text = Client(HTTP_HOST="localhost").get("/metrics").content.decode()
    return {
        (sample.labels["view"], sample.labels["method"], sample.labels["status"])
        for family in text_string_to_metric_families(text)
        if family.name == "firelater_request_duration_seconds"
        for sample in family.samples
    }


def test_made_up_methods_and_paths_cannot_grow_the_request_metric(acme_api, in_acme):
    def hostile_round(start: int) -> None:
        for i in range(start, start + 200):
            Client(HTTP_HOST="unknown.example").generic(f"MADEUP{i}", f"/anything/{i}/")
            acme_api.generic(f"X{i}", f"/api/v1/issues/{i}/")
            acme_api.get(f"/no/such/page/{i}/")
            acme_api.get(f"/api/v1/issues/{i}/")

    hostile_round(0)
    series = request_metric_series()
    hostile_round(200)

    assert request_metric_series() == series  # 800 new methods and paths, no new series
    methods = {method for _, method, _ in series}
    assert methods <= {*HTTP_METHODS, "OTHER"}
    assert "OTHER" in methods


def test_every_response_carries_a_request_id(acme_api, in_acme):
    made = acme_api.get("/api/v1/issues/")
    assert len(made["X-Request-ID"]) == 32
    kept = acme_api.get("/api/v1/issues/", HTTP_X_REQUEST_ID="trace-abc-12345")
    assert kept["X-Request-ID"] == "trace-abc-12345"
    hostile = acme_api.get("/api/v1/issues/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert hostile["X-Request-ID"] != "bad id\nwith newline"


def test_each_request_is_logged_once_with_its_context(acme_api, in_acme, caplog):
    caplog.set_level(logging.INFO, logger="firelater.request")
    response = acme_api.get("/api/v1/dashboard/overview/", HTTP_X_REQUEST_ID="req-0000-1111")
    records = [r for r in caplog.records if r.name == "firelater.request"]
    assert len(records) == 1
    record = records[0]
    assert (record.tenant, record.path, record.status) == (
        "acme",
        "/api/v1/dashboard/overview/",
        200,
    )
    assert record.cache == response["X-Cache"] == "MISS"
    assert record.request_id == "req-0000-1111"
    assert record.duration_ms > 0


def test_the_json_formatter_writes_one_object_per_line(acme_api, in_acme):
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    from firelater.request_log import RequestContextFilter

    config = settings.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(config["fmt"], rename_fields=config["rename_fields"])
    record = logging.LogRecord(
        "firelater.request", logging.INFO, __file__, 1, "GET / 200", (), None
    )
    record.path, record.status, record.cache, record.duration_ms = "/", 200, "HIT", 1.5
    RequestContextFilter().filter(record)
    line = formatter.format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "INFO"
    assert data["path"] == "/"
    assert data["cache"] == "HIT"
    assert "request_id" in data


FORGED = "2030-01-01 00:00:00,000 INFO firelater.request [forged-id-123] GET /admin/ 200"


@contextlib.contextmanager
def console_output(formatter_name: str) -> Iterator[io.StringIO]:
    """What the console handler writes with the configured formatter, for every logger."""
    config = dict(settings.LOGGING["formatters"][formatter_name])
    factory = import_string(config.pop("()")) if "()" in config else logging.Formatter
    if "format" in config:
        config["fmt"] = config.pop("format")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(factory(**config))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def forging_requests(acme_api) -> None:  # type: ignore[no-untyped-def]
    """Requests whose path or method carry a CR, LF or line separator and a whole log line."""
    acme_api.get(f"/api/v1/issues/%0A{quote(FORGED)}")
    acme_api.get(f"/nowhere%0D%0A{quote(FORGED)}%0D")
    acme_api.get(f"/nowhere%E2%80%A8{quote(FORGED)}%1B[2J%C2%85")
    acme_api.generic(f"GET\r\n{FORGED}", "/api/v1/issues/")


def test_a_newline_in_a_path_or_method_cannot_forge_a_plain_log_line(acme_api, caplog):
    caplog.set_level(logging.INFO, logger="firelater.request")
    with console_output("plain") as output:
        forging_requests(acme_api)

    lines = output.getvalue().splitlines()  # splits on every line boundary Python knows
    request_lines = [line for line in lines if " firelater.request " in line]
    assert len(request_lines) == 4
    assert not [line for line in lines if line.startswith(FORGED)]
    assert f"/api/v1/issues/\\n{FORGED}" in request_lines[0]  # escaped, still readable
    assert all(not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in line) for line in lines)


def test_a_traceback_in_the_plain_log_is_indented_so_it_cannot_pass_for_a_record(caplog):
    with console_output("plain") as output:
        try:
            raise ValueError(f"bad input\n{FORGED}")
        except ValueError:
            logging.getLogger("firelater.test").exception("Failed on %s", f"/x\n{FORGED}")

    first, *rest = output.getvalue().splitlines()
    assert first.endswith(f"Failed on /x\\n{FORGED}")
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest)
    assert f"    {FORGED}" in rest


def test_json_log_lines_stay_valid_and_keep_the_path_exactly(acme_api, caplog):
    caplog.set_level(logging.INFO, logger="firelater.request")
    with console_output("json") as output:
        forging_requests(acme_api)

    records = [json.loads(line) for line in output.getvalue().split("\n") if line]
    paths = [record["path"] for record in records if record["logger"] == "firelater.request"]
    assert paths[0] == f"/api/v1/issues/\n{FORGED}"
    assert paths[1] == f"/nowhere\r\n{FORGED}\r"
    assert len(paths) == 4


def test_the_openapi_schema_describes_the_dashboard(acme_api, in_acme):
    response = acme_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    overview = schema["paths"]["/api/v1/dashboard/overview/"]["get"]
    assert "X-Cache" in overview["responses"]["200"]["headers"]
    props = schema["components"]["schemas"]["IssueCounts"]["properties"]
    assert "resolvedToday" in props  # camelCase, as the API answers
    assert "/api/admin/cache/stats" in schema["paths"] or "/api/admin/cache/stats/" in str(
        schema["paths"]
    )


def test_the_docs_page_uses_local_assets(acme_browser, in_acme):
    response = acme_browser.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
