"""Security defaults: DEBUG, SECRET_KEY, TLS settings, CSRF, throttling, `check --deploy`.

Settings are read once per process, so each environment is tried in a subprocess that
imports firelater.settings with a clean environment (nothing inherited from this one).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tests.conftest import ADMIN_PASSWORD
from tests.utils import json_error

ROOT = Path(__file__).resolve().parents[2]
LONG_SECRET_KEY = secrets.token_urlsafe(64)
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": LONG_SECRET_KEY, "BEHIND_TLS_PROXY": "1"}
READ_SETTINGS = """
import json, firelater.settings as s
names = [
    "DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS",
    "USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT",
]
values = {name: getattr(s, name) for name in names}
values["NUM_PROXIES"] = s.REST_FRAMEWORK["NUM_PROXIES"]
print(json.dumps(values))
"""


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_with(**env: str) -> dict[str, Any]:
    result = run_python(["-c", READ_SETTINGS], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- DEBUG and SECRET_KEY ----------------------------------------------------------------


def test_debug_is_off_unless_the_environment_turns_it_on():
    assert settings_with(SECRET_KEY=LONG_SECRET_KEY)["DEBUG"] is False
    assert settings_with(SECRET_KEY=LONG_SECRET_KEY, DEBUG="1")["DEBUG"] is True


def test_without_a_secret_key_the_settings_refuse_to_load_when_debug_is_off():
    result = run_python(["-c", "import firelater.settings"], {})

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_only_local_debug_runs_get_a_built_in_secret_key():
    assert settings_with(DEBUG="1")["SECRET_KEY"] == "insecure-local-development-key"
    assert settings_with(SECRET_KEY=LONG_SECRET_KEY)["SECRET_KEY"] == LONG_SECRET_KEY


# --- TLS settings ------------------------------------------------------------------------


def test_the_defaults_keep_make_run_on_plain_http_working():
    values = settings_with(DEBUG="1")

    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["NUM_PROXIES"] == 0


def test_behind_a_tls_proxy_cookies_are_secure_and_https_is_enforced():
    values = settings_with(**PRODUCTION)

    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["NUM_PROXIES"] == 1


def test_each_tls_setting_has_its_own_variable():
    values = settings_with(
        **PRODUCTION,
        SECURE_HSTS_SECONDS="300",
        SECURE_HSTS_PRELOAD="1",
        SECURE_SSL_REDIRECT="0",
        CSRF_TRUSTED_ORIGINS="https://*.firelater.example,https://ops.example",
        NUM_PROXIES="2",
    )

    assert values["SECURE_HSTS_SECONDS"] == 300
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://*.firelater.example", "https://ops.example"]
    assert values["NUM_PROXIES"] == 2


def test_forwarded_host_headers_are_never_trusted_in_any_configuration():
    for values in (settings_with(DEBUG="1"), settings_with(**PRODUCTION)):
        assert values["USE_X_FORWARDED_HOST"] is False
        assert values["USE_X_FORWARDED_PORT"] is False
    assert django_settings.USE_X_FORWARDED_HOST is False


def test_check_deploy_is_clean_with_production_settings():
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


TLS_IN_PROCESS = {
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31_536_000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


@override_settings(**TLS_IN_PROCESS)
def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts(acme_api):
    plain = acme_api.get("/api/v1/issues/")
    secure = acme_api.get("/api/v1/issues/", HTTP_X_FORWARDED_PROTO="https")

    assert plain.status_code == 301
    assert plain["Location"] == "https://acme.localhost/api/v1/issues/"
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@override_settings(**TLS_IN_PROCESS)
def test_behind_the_proxy_probes_still_answer_plain_http(db):
    assert Client(HTTP_HOST="10.0.0.7").get("/healthz").status_code == 200


@override_settings(**TLS_IN_PROCESS)
def test_behind_the_proxy_the_session_and_csrf_cookies_are_secure(acme):
    client = Client(HTTP_HOST="acme.localhost", HTTP_X_FORWARDED_PROTO="https")

    login_page = client.get("/login/")
    logged_in = client.post(
        "/login/",
        {"username": "admin", "password": ADMIN_PASSWORD},
        HTTP_X_CSRFTOKEN=login_page.cookies["csrftoken"].value,
        HTTP_ORIGIN="https://acme.localhost",
    )

    assert logged_in.status_code == 302
    assert logged_in.cookies["sessionid"]["secure"] is True
    assert logged_in.cookies["sessionid"]["httponly"] is True
    assert logged_in.cookies["csrftoken"]["secure"] is True


def test_responses_carry_the_security_headers(acme_api):
    response = acme_api.get("/api/v1/issues/")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


# --- CSRF on session writes --------------------------------------------------------------


@pytest.fixture
def csrf_session(acme) -> tuple[APIClient, str]:  # type: ignore[no-untyped-def]
    """A browser session of acme's admin that enforces CSRF, and its CSRF token."""
    client = APIClient(HTTP_HOST="acme.localhost", enforce_csrf_checks=True)
    with tenant_context(acme):
        assert client.login(username="admin", password=ADMIN_PASSWORD)
    page = client.get("/api/v1/issues/", HTTP_ACCEPT="text/html")  # the browsable API
    token = page.cookies["csrftoken"].value
    return client, token


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/issues/"),
        ("post", "/api/admin/cache/invalidate"),
        ("patch", "/api/v1/issues/1/"),
        ("delete", "/api/v1/applications/1/"),
    ],
)
def test_a_session_write_without_the_csrf_token_is_a_json_403(csrf_session, method, url):
    client, _token = csrf_session

    body = json_error(getattr(client, method)(url, {"title": "x"}, format="json"), 403)

    assert "CSRF" in body["detail"]


def test_a_session_write_with_the_csrf_token_is_accepted(csrf_session):
    client, token = csrf_session

    response = client.post(
        "/api/v1/issues/", {"title": "From the page"}, format="json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 201, response.content
    assert response.json()["title"] == "From the page"


def test_a_token_write_needs_no_csrf_token(acme_api):
    acme_api.handler.enforce_csrf_checks = True

    response = acme_api.post("/api/v1/issues/", {"title": "From a script"}, format="json")

    assert response.status_code == 201


# --- Throttling of the token endpoint ----------------------------------------------------
# (tests/test_auth.py: the 11th guess within a minute is a JSON 429.)


def test_a_password_guesser_cannot_escape_the_throttle_with_forged_forwarded_for(anon_api):
    # A new username each time, so the lockout (tests/security/test_lockout.py) stays out.
    statuses = [
        anon_api.post(
            "/api/v1/auth/token/",
            {"username": f"user-{attempt}", "password": "guess"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        ).status_code
        for attempt in range(11)
    ]

    assert statuses == [400] * 10 + [429]
