"""Tokens expire, rotate at the next login, log out, and end with a role, a password or an
active account (#19). Across worker processes: tests/reliability/test_revocation.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from firelater import revocation, roles
from firelater.factories import UserFactory
from tests.test_revocation import _raw_connection
from tests.utils import json_error

pytestmark = pytest.mark.usefixtures("forget_token_throttling")

PASSWORD = "token-pass-123"
ISSUES = "/api/v1/issues/"


@pytest.fixture
def listening(db: Any) -> Iterator[Any]:
    """Our own LISTEN on the revocation channel (as tests/test_revocation.py's)."""
    with _raw_connection(autocommit=True) as conn:
        conn.execute(f"LISTEN {revocation.CHANNEL}")
        yield lambda: [n.payload for n in conn.notifies(timeout=0.5)]


@pytest.fixture
def agent(in_acme: Any) -> Any:
    return UserFactory(username="tok-agent", password=PASSWORD, roles=[roles.AGENT])


def _login(username: str = "tok-agent", password: str = PASSWORD) -> Any:
    return APIClient(HTTP_HOST="acme.localhost").post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def _client(key: str) -> APIClient:
    client = APIClient(HTTP_HOST="acme.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _age(key: str, seconds: float) -> None:
    """Make the token `seconds` old: its creation moved back in the database."""
    Token.objects.filter(key=key).update(created=timezone.now() - dt.timedelta(seconds=seconds))


# --- Expiry --------------------------------------------------------------------------------


def test_the_default_token_ttl_is_thirty_days(settings):
    assert settings.TOKEN_TTL == 30 * 24 * 3600


def test_a_token_works_until_token_ttl_after_its_creation_then_is_a_json_401(agent, settings):
    key = _login().json()["token"]
    _age(key, 3590)  # issued 3590 s ago
    settings.TOKEN_TTL = 3600
    assert _client(key).get(ISSUES).status_code == 200

    settings.TOKEN_TTL = 3589  # as if 11 s later
    body = json_error(_client(key).get(ISSUES), 401)
    assert "expired" in body["detail"]


def test_a_cached_token_expires_without_a_database_read(agent, settings):
    """The expiry is checked on every request, also when the answer comes from the cache."""
    key = _login().json()["token"]
    client = _client(key)
    assert client.get(ISSUES).status_code == 200  # cached now
    settings.TOKEN_TTL = 0  # the clock moved past its end, as far as this token knows

    json_error(client.get(ISSUES), 401)


def test_the_login_says_when_the_token_expires(agent, settings):
    settings.TOKEN_TTL = 7200
    body = _login().json()
    created = Token.objects.get(key=body["token"]).created
    assert dt.datetime.fromisoformat(body["expiresAt"]) == created + dt.timedelta(seconds=7200)


# --- Rotation ------------------------------------------------------------------------------


def test_a_login_returns_the_valid_token_and_a_new_key_once_it_expired(agent, settings):
    settings.TOKEN_TTL = 3600
    first = _login().json()["token"]
    assert _login().json()["token"] == first  # still valid: the same token (other devices)

    _age(first, 3601)
    rotated = _login().json()["token"]

    assert rotated != first
    assert list(Token.objects.filter(user=agent).values_list("key", flat=True)) == [rotated]
    json_error(_client(first).get(ISSUES), 401)
    assert _client(rotated).get(ISSUES).status_code == 200


def test_using_a_token_never_writes_to_the_database(agent, django_assert_max_num_queries):
    key = _login().json()["token"]
    client = _client(key)
    client.get(ISSUES)
    with django_assert_max_num_queries(5) as queries:
        assert client.get(ISSUES).status_code == 200
    assert not [q for q in queries.captured_queries if not q["sql"].startswith("SELECT")]


# --- Logout --------------------------------------------------------------------------------


def test_delete_logs_the_current_token_out(agent):
    other = UserFactory(username="tok-other", password=PASSWORD, roles=[roles.AGENT])
    other_key = Token.objects.create(user=other).key
    key = _login().json()["token"]
    client = _client(key)
    assert client.get(ISSUES).status_code == 200  # cached

    response = client.delete("/api/v1/auth/token/")

    assert response.status_code == 204
    assert not Token.objects.filter(key=key).exists()
    json_error(client.get(ISSUES), 401)
    json_error(client.delete("/api/v1/auth/token/"), 401)
    assert _client(other_key).get(ISSUES).status_code == 200  # nobody else is logged out


def test_delete_without_a_token_is_a_json_401_and_with_a_session_a_json_400(acme, agent):
    json_error(APIClient(HTTP_HOST="acme.localhost").delete("/api/v1/auth/token/"), 401)
    browser = Client(HTTP_HOST="acme.localhost", enforce_csrf_checks=False)
    with tenant_context(acme):
        assert browser.login(username="tok-agent", password=PASSWORD)
    body = json_error(browser.delete("/api/v1/auth/token/"), 400)
    assert "Authorization" in body["detail"]


# --- Revocation in this process --------------------------------------------------------------


def _remove_role(user: Any) -> None:
    user.groups.remove(Group.objects.get(name=roles.AGENT))


def _set_other_role(user: Any) -> None:
    roles.user_roles_set(user=user, roles=[roles.REQUESTER])


def _clear_roles(user: Any) -> None:
    user.groups.clear()


def _delete_the_role(user: Any) -> None:
    Group.objects.get(name=roles.AGENT).delete()


def _deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


def _change_password(user: Any) -> None:
    user.set_password("another-pass-456")
    user.save()


@pytest.mark.parametrize(
    "revoke",
    [_remove_role, _set_other_role, _clear_roles, _delete_the_role, _deactivate, _change_password],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_role_removal_deactivation_or_password_change_ends_the_users_tokens_at_once(
    agent, revoke
):
    key = _login().json()["token"]
    client = _client(key)
    assert client.get(ISSUES).status_code == 200  # cached in this process

    revoke(agent)

    assert not Token.objects.filter(user=agent).exists()
    json_error(client.get(ISSUES), 401)


def test_a_reactivated_user_needs_a_new_login(agent):
    key = _login().json()["token"]
    get_user_model().objects.filter(pk=agent.pk).update(is_active=False)
    get_user_model().objects.filter(pk=agent.pk).update(is_active=True)
    json_error(_client(key).get(ISSUES), 401)  # the old token is gone, not revived
    assert _login().status_code == 200


def test_a_role_added_keeps_the_token_and_its_permissions_apply_at_once(agent):
    key = _login().json()["token"]
    client = _client(key)
    json_error(client.delete(f"/api/v1/applications/{0}/"), 403)  # cached: an agent

    roles.user_roles_set(user=agent, roles=[roles.AGENT, roles.TENANT_ADMIN])

    assert Token.objects.filter(key=key).exists()
    assert client.get("/api/admin/cache/stats").status_code == 200


def test_a_permission_taken_from_a_role_applies_at_once(agent):
    client = _client(_login().json()["token"])
    assert client.get(ISSUES).status_code == 200  # cached, with its permissions

    Group.objects.get(name=roles.AGENT).permissions.remove(
        *Group.objects.get(name=roles.AGENT).permissions.filter(codename="view_issue")
    )

    body = json_error(client.get(ISSUES), 403)
    assert body["requiredPermissions"] == ["issues.view_issue"]


# --- The triggers, driven by another client ---------------------------------------------------


@pytest.fixture
def writer(db: Any) -> Iterator[psycopg.Connection[Any]]:
    with _raw_connection(autocommit=True) as conn:
        conn.execute("SET search_path TO acme")
        yield conn
        conn.execute(
            "DELETE FROM auth_user_groups WHERE user_id IN"
            " (SELECT id FROM auth_user WHERE username LIKE 'scratch-%%')"
        )
        conn.execute("DELETE FROM auth_user WHERE username LIKE %s", ["scratch-%"])


def _scratch_agent(writer: psycopg.Connection[Any]) -> tuple[int, int]:
    user_id = writer.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,"
        " is_staff, is_active, date_joined) VALUES ('!', false, 'scratch-9', '', '', '', true,"
        " true, now()) RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    group_id = writer.execute("SELECT id FROM auth_group WHERE name = 'agent'").fetchone()[0]  # type: ignore[index]
    writer.execute(
        "INSERT INTO auth_user_groups (user_id, group_id) VALUES (%s, %s)", [user_id, group_id]
    )
    writer.execute(
        "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, now())",
        ["9" * 40, user_id],
    )
    return user_id, group_id


def _tokens(writer: psycopg.Connection[Any], user_id: int) -> int:
    row = writer.execute("SELECT count(*) FROM authtoken_token WHERE user_id = %s", [user_id])
    return int(row.fetchone()[0])  # type: ignore[index]


def test_raw_sql_removing_a_role_ends_the_tokens_and_is_announced(listening, writer):
    user_id, _ = _scratch_agent(writer)
    assert "auth:acme" in listening()  # the role given is announced (permissions changed)

    with writer.transaction(force_rollback=True):
        writer.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [user_id])
    assert listening() == []
    assert _tokens(writer, user_id) == 1  # a rolled-back removal ends nothing

    writer.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [user_id])
    assert listening() == ["auth:acme"]
    assert _tokens(writer, user_id) == 0


def test_raw_sql_deactivating_a_user_ends_the_tokens_and_only_theirs(listening, writer, acme_api):
    user_id, _ = _scratch_agent(writer)
    listening()
    writer.execute("UPDATE auth_user SET is_active = false WHERE id = %s", [user_id])
    assert _tokens(writer, user_id) == 0
    assert listening() == ["auth:acme"]
    assert acme_api.get(ISSUES).status_code == 200  # the admin's token lives on


def test_a_change_to_a_roles_permissions_is_announced(listening, writer):
    writer.execute(
        "DELETE FROM auth_group_permissions WHERE group_id = (SELECT id FROM auth_group"
        " WHERE name = 'agent') AND permission_id = (SELECT id FROM auth_permission WHERE"
        " codename = 'view_issue')"
    )
    try:
        assert listening() == ["auth:acme"]
    finally:  # committed: put the role's permission back
        writer.execute(
            "INSERT INTO auth_group_permissions (group_id, permission_id) SELECT g.id, p.id"
            " FROM auth_group g, auth_permission p WHERE g.name = 'agent'"
            " AND p.codename = 'view_issue'"
        )


def test_the_triggers_never_touch_another_schemas_tokens(writer):
    """A removal written while the session's search_path puts globex first ends acme's
    tokens, not those of globex's user of the same id."""
    user_id, _ = _scratch_agent(writer)
    writer.execute(
        "INSERT INTO globex.auth_user (id, password, is_superuser, username, first_name,"
        " last_name, email, is_staff, is_active, date_joined) VALUES (%s, '!', false,"
        " 'scratch-twin', '', '', '', false, true, now())",
        [user_id],
    )
    writer.execute(
        "INSERT INTO globex.authtoken_token (key, user_id, created) VALUES (%s, %s, now())",
        ["8" * 40, user_id],
    )
    try:
        writer.execute("SET search_path TO globex, acme")
        writer.execute("DELETE FROM acme.auth_user_groups WHERE user_id = %s", [user_id])
        writer.execute("UPDATE acme.auth_user SET is_active = false WHERE id = %s", [user_id])
        writer.execute("SET search_path TO acme")
        assert _tokens(writer, user_id) == 0
        twin = writer.execute(
            "SELECT count(*) FROM globex.authtoken_token WHERE user_id = %s", [user_id]
        ).fetchone()
        assert twin == (1,)
    finally:
        writer.execute("DELETE FROM globex.authtoken_token WHERE user_id = %s", [user_id])
        writer.execute("DELETE FROM globex.auth_user WHERE id = %s", [user_id])
