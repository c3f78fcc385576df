"""Password guessing is locked out on every login path, per username and client address.

Each login path is driven through its real view and django-axes' real backend, signal
handlers and middleware, against the tenant's (or the platform's) own schema. The lock
expires in real time (a 1 s LOGIN_LOCKOUT_SECONDS), not by patching a clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from tests.conftest import ADMIN_PASSWORD

PLATFORM_PASSWORD = "platform-pass-1"
LIMIT = 3


@dataclass(frozen=True)
class LoginPath:
    host: str
    path: str
    api: bool
    username: str
    password: str

    @property
    def schema(self) -> str:
        return "public" if self.host == "localhost" else self.host.split(".")[0]

    def __str__(self) -> str:
        return f"{self.host}{self.path}"

    def client(self, address: str = "127.0.0.1", **headers: str) -> Client:
        return Client(HTTP_HOST=self.host, REMOTE_ADDR=address, **headers)

    def attempt(self, client: Client, password: str, username: str | None = None) -> Any:
        credentials = {"username": username or self.username, "password": password}
        if self.api:
            return client.post(self.path, credentials, content_type="application/json")
        return client.post(self.path, credentials)

    def succeeded(self, response: Any) -> bool:
        if self.api:
            return response.status_code == 200 and "token" in response.json()
        return response.status_code == 302

    def refused(self, response: Any) -> bool:
        """A wrong password's ordinary answer (not a lockout)."""
        return response.status_code == (400 if self.api else 200)


PATHS = [
    LoginPath("acme.localhost", "/login/", False, "admin", ADMIN_PASSWORD),
    LoginPath("acme.localhost", "/admin/login/", False, "admin", ADMIN_PASSWORD),
    LoginPath("acme.localhost", "/api-auth/login/", False, "admin", ADMIN_PASSWORD),
    LoginPath("acme.localhost", "/api/v1/auth/token/", True, "admin", ADMIN_PASSWORD),
    LoginPath("localhost", "/admin/login/", False, "platform", PLATFORM_PASSWORD),
    LoginPath("localhost", "/api/v1/auth/token/", True, "platform", PLATFORM_PASSWORD),
]


@pytest.fixture(autouse=True)
def _short_lockout(settings: Any, acme: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = LIMIT
    settings.LOGIN_LOCKOUT_SECONDS = 900
    with schema_context("public"):
        get_user_model().objects.create_superuser(
            "platform", "platform@example.com", PLATFORM_PASSWORD
        )


def guess(login: LoginPath, client: Client, times: int, username: str | None = None) -> list[Any]:
    return [login.attempt(client, f"wrong-{i}", username) for i in range(times)]


def assert_locked(login: LoginPath, response: Any) -> None:
    assert response.status_code == 429, response.content[:300]
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 900
    assert "Content-Security-Policy" in response
    if login.api:
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert body["retryAfter"] == retry_after
        assert "Try again in" in body["detail"]
        assert body["lockedUntil"]
    else:
        html = response.content.decode()
        assert "Too many failed logins" in html
        assert "Try again in 15 minutes" in html


@pytest.mark.parametrize("login", PATHS, ids=str)
def test_the_limit_th_wrong_password_locks_the_username_and_address_even_for_the_right_one(
    login,
):
    client = login.client()

    attempts = guess(login, client, LIMIT)

    assert all(login.refused(response) for response in attempts[:-1])
    assert_locked(login, attempts[-1])
    assert_locked(login, login.attempt(client, login.password))


@pytest.mark.parametrize("login", PATHS, ids=str)
def test_the_lock_expires_after_login_lockout_seconds(login, settings):
    settings.LOGIN_LOCKOUT_SECONDS = 1
    client = login.client()
    guess(login, client, LIMIT)
    assert login.attempt(client, login.password).status_code == 429
    locked_at = time.monotonic()

    time.sleep(1.1)  # real time: the lock ends 1 s after the last counted failure
    response = login.attempt(client, login.password)

    assert time.monotonic() - locked_at >= 1
    assert login.succeeded(response), response.content[:300]


@pytest.mark.parametrize("login", PATHS, ids=str)
def test_a_successful_login_resets_the_failure_count(login):
    client = login.client()
    guess(login, client, LIMIT - 1)
    assert login.succeeded(login.attempt(login.client(), login.password))

    again = guess(login, client, LIMIT - 1)

    assert all(login.refused(response) for response in again)
    assert login.succeeded(login.attempt(login.client(), login.password))


@pytest.mark.parametrize("login", PATHS, ids=str)
def test_the_lock_holds_one_username_from_one_address_only(login):
    guess(login, login.client("127.0.0.1"), LIMIT)

    assert login.succeeded(login.attempt(login.client("127.0.0.2"), login.password))
    assert login.refused(login.attempt(login.client("127.0.0.1"), "wrong", "someone-else"))


@pytest.mark.parametrize("login", PATHS, ids=str)
def test_a_spoofed_x_forwarded_for_does_not_escape_the_lock_without_a_proxy(login):
    guess(login, login.client(), LIMIT)

    spoofing = login.client(HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert login.attempt(spoofing, login.password).status_code == 429


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    login = PATHS[0]
    # The proxy (REMOTE_ADDR) appends the client's address to whatever the client sent.
    attacker = login.client("10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    guess(login, attacker, LIMIT)

    other_client = login.client("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8")
    forged = login.client("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8, 203.0.113.7")

    assert login.succeeded(login.attempt(other_client, login.password))
    assert login.attempt(forged, login.password).status_code == 429
    with schema_context("acme"):
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}


def test_failed_logins_are_kept_in_the_tenants_own_schema(acme, globex):
    guess(PATHS[0], PATHS[0].client(), LIMIT)

    with tenant_context(acme):
        assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [
            ("admin", LIMIT)
        ]
    with tenant_context(globex):
        assert not AccessAttempt.objects.exists()
    with schema_context("public"):
        assert not AccessAttempt.objects.exists()
    globex_login = LoginPath("globex.localhost", "/login/", False, "admin", ADMIN_PASSWORD)
    assert globex_login.succeeded(globex_login.attempt(globex_login.client(), ADMIN_PASSWORD))


def test_the_platform_hosts_failed_logins_are_kept_in_public(acme):
    platform = PATHS[4]
    guess(platform, platform.client(), LIMIT)

    with schema_context("public"):
        assert AccessAttempt.objects.get().username == "platform"
    with tenant_context(acme):
        assert not AccessAttempt.objects.exists()


def test_the_tenant_admin_lists_the_locked_attempt_and_deleting_it_lifts_the_lock(acme):
    login = PATHS[0]
    guess(login, login.client("192.0.2.10"), LIMIT)
    staff = Client(HTTP_HOST="acme.localhost")
    with tenant_context(acme):
        staff.force_login(get_user_model().objects.get(username="admin"))
        attempt = AccessAttempt.objects.get()

    listing = staff.get("/admin/axes/accessattempt/")
    deleted = staff.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )

    html = listing.content.decode()
    assert listing.status_code == 200
    assert "192.0.2.10" in html
    assert "Locked until" in html
    assert deleted.status_code == 302
    assert login.succeeded(login.attempt(login.client("192.0.2.10"), login.password))


def test_the_platform_admin_lists_the_platforms_failed_logins():
    platform = PATHS[4]
    guess(platform, platform.client("192.0.2.20"), 1)
    admin = Client(HTTP_HOST="localhost")
    admin.force_login(get_user_model().objects.get(username="platform"))

    listing = admin.get("/admin/axes/accessattempt/")

    assert listing.status_code == 200
    assert "192.0.2.20" in listing.content.decode()


def test_the_token_endpoint_still_throttles_per_address_across_usernames(acme):
    login = PATHS[3]
    client = login.client("192.0.2.30")

    attempts = [login.attempt(client, "wrong", f"user-{i}") for i in range(11)]

    assert [response.status_code for response in attempts[:10]] == [400] * 10
    assert attempts[10].status_code == 429
    assert "throttled" in attempts[10].json()["detail"].lower()


def test_an_over_long_username_is_a_json_400_not_a_database_error(acme):
    login = PATHS[3]

    response = login.attempt(login.client(), "wrong", "x" * 10_000)

    assert response.status_code == 400
    assert "username" in response.json()
