"""Revocation in one process: the triggers, the listener and the caches' epochs.

The multi-worker proof, on a real gunicorn, is tests/reliability/test_revocation.py. Here
the triggers are driven with committed writes on connections of their own (raw psycopg,
as any other client would write), the listener is this process's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from firelater import revocation
from tests.support.processes import wait_until


def _raw_connection(**options: Any) -> psycopg.Connection[Any]:
    params = dict(connections["default"].get_connection_params())
    for django_only in ("cursor_factory", "context"):
        params.pop(django_only, None)
    return psycopg.connect(**params, **options)


@pytest.fixture
def listening(db) -> Iterator[Callable[[], list[str]]]:  # type: ignore[no-untyped-def]
    """A LISTEN of our own; calling it returns the payloads received so far (waiting for
    them briefly)."""
    with _raw_connection(autocommit=True) as conn:
        conn.execute(f"LISTEN {revocation.CHANNEL}")

        def received() -> list[str]:
            return [n.payload for n in conn.notifies(timeout=0.5)]

        yield received


@pytest.fixture
def writer(db) -> Iterator[psycopg.Connection[Any]]:  # type: ignore[no-untyped-def]
    """Another client's autocommit connection on acme's schema; its scratch rows go after."""
    with _raw_connection(autocommit=True) as conn:
        conn.execute("SET search_path TO acme")
        yield conn
        conn.execute("DELETE FROM auth_user WHERE username LIKE %s", ["scratch-%"])


def _scratch_user(writer: psycopg.Connection[Any]) -> int:
    row = writer.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,"
        " is_staff, is_active, date_joined) VALUES ('!', false, 'scratch-1', '', '', '', false,"
        " true, now()) RETURNING id"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_committed_change_to_a_user_is_announced_for_its_schema(listening, writer):
    user_id = _scratch_user(writer)
    assert listening() == []  # a new user revokes nothing

    writer.execute("UPDATE auth_user SET is_active = false WHERE id = %s", [user_id])
    deactivated = listening()
    writer.execute("UPDATE auth_user SET last_login = now() WHERE id = %s", [user_id])
    logged_in = listening()
    writer.execute("DELETE FROM auth_user WHERE id = %s", [user_id])
    deleted = listening()

    assert deactivated == ["auth:acme"]
    assert logged_in == []  # every login writes last_login: it must not flush the caches
    assert deleted == ["auth:acme"]


def test_a_changed_or_deleted_token_is_announced_and_a_rolled_back_one_is_not(listening, writer):
    user_id = _scratch_user(writer)
    writer.execute(
        "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, now())",
        ["f" * 40, user_id],
    )
    assert listening() == []
    with writer.transaction(force_rollback=True):
        writer.execute("DELETE FROM authtoken_token WHERE user_id = %s", [user_id])
    rolled_back = listening()

    writer.execute("UPDATE authtoken_token SET key = %s WHERE user_id = %s", ["e" * 40, user_id])
    changed = listening()
    writer.execute("DELETE FROM authtoken_token WHERE user_id = %s", [user_id])
    deleted = listening()

    assert rolled_back == []
    assert changed == deleted == ["auth:acme"]


def test_a_tenant_or_domain_change_is_announced(listening):
    with _raw_connection(autocommit=True) as writer:
        writer.execute("UPDATE tenants_tenant SET name = name WHERE slug = 'acme'")
        unchanged = listening()  # an UPDATE that changes nothing
        writer.execute("UPDATE tenants_tenant SET name = 'Acme!' WHERE slug = 'acme'")
        renamed = listening()
        writer.execute("UPDATE tenants_tenant SET name = 'Acme' WHERE slug = 'acme'")
        listening()
        writer.execute(
            "UPDATE tenants_domain SET is_primary = is_primary WHERE domain = 'acme.localhost'"
        )
        domains = listening()

    assert unchanged == []
    assert renamed == ["tenant:acme"]
    assert domains == ["routing"]


def test_a_notification_moves_the_epoch_of_its_tenant_only(revocation_listener, writer):
    acme, globex = revocation.stamp("auth:acme"), revocation.stamp("auth:globex")

    writer.execute("SELECT pg_notify(%s, 'auth:acme')", [revocation.CHANNEL])

    assert wait_until(lambda: revocation.stamp("auth:acme") != acme, 1.0, 0.01)
    assert revocation.stamp("auth:globex") == globex


def test_a_listener_whose_connection_dies_reconnects_and_drops_all_it_had_cached(
    revocation_listener, writer
):
    first = revocation.listener_backend_pid()
    before = revocation.stamp("auth:globex")

    writer.execute("SELECT pg_terminate_backend(%s)", [first])

    assert wait_until(lambda: revocation.listener_backend_pid() not in (None, first), 10)
    # Notifications sent while it was away are lost: everything is stale.
    assert revocation.stamp("auth:globex") != before
    after = revocation.stamp("auth:acme")
    writer.execute("SELECT pg_notify(%s, 'auth:acme')", [revocation.CHANNEL])
    assert wait_until(lambda: revocation.stamp("auth:acme") != after, 1.0, 0.01)


def test_a_cached_token_is_read_again_once_its_tenants_epoch_moved(acme_api, globex_api):
    for client in (acme_api, globex_api):
        assert client.get("/api/v1/issues/").status_code == 200  # cached for both tenants

    revocation.bump("auth:acme")
    with CaptureQueriesContext(connection) as acme_queries:
        assert acme_api.get("/api/v1/applications/").status_code == 200
    with CaptureQueriesContext(connection) as globex_queries:
        assert globex_api.get("/api/v1/applications/").status_code == 200

    assert any("authtoken_token" in q["sql"] for q in acme_queries.captured_queries)
    assert not any("authtoken_token" in q["sql"] for q in globex_queries.captured_queries)


def test_a_cached_host_route_is_read_again_once_the_routing_epoch_moved(acme_api):
    assert acme_api.get("/api/v1/issues/").status_code == 200

    revocation.bump(revocation.ROUTING)
    with CaptureQueriesContext(connection) as queries:
        assert acme_api.get("/api/v1/issues/").status_code == 200

    assert any("tenants_domain" in q["sql"] for q in queries.captured_queries)


def test_a_changed_password_ends_the_users_tokens(in_acme):
    user = get_user_model().objects.create_user("pat", password="first-pass-123")
    token = Token.objects.create(user=user)

    user.set_password("second-pass-456")
    user.save()

    assert not Token.objects.filter(key=token.key).exists()


def test_a_password_rehashed_at_login_keeps_the_users_tokens(in_acme, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # preferred: MD5 is upgraded
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    user = get_user_model().objects.create(
        username="pat", password=make_password("pass-123", hasher="md5")
    )
    token = Token.objects.create(user=user)

    assert user.check_password("pass-123")  # saves the new hash of the same password

    assert user.password.startswith("pbkdf2_sha256$")
    assert Token.objects.filter(key=token.key).exists()


def test_stopping_the_listener_closes_its_connection(db, revocation_listener):
    backend = revocation.listener_backend_pid()

    revocation.stop_listener()

    def gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend])
            return cursor.fetchone()[0] == 0

    assert not revocation.listener_connected()
    assert wait_until(gone, 5, 0.05)  # once the server has noticed the close
