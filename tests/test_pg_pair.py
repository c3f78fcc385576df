"""The suite's private hot standby (scripts/pg_pair.py) and the "replica" connection on it.

What the replica tests of #15 build on: connections["replica"] is a real standby of the test
database (not a mirror sharing the primary's connection), it sees a commit only once it
has replayed it, its replay can be paused, delayed and killed, and django-tenants' schema
routing (search_path) applies on it as on the primary.

Writes go through a raw autocommit connection to the primary, so that they are committed
(and so streamed to the standby) while the test's own transactions are rolled back.
(transaction=True would flush the public schema, the session's tenants with it.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from tenants.models import Tenant

REPLICA_DB = pytest.mark.django_db(databases=["default", "replica"])
TABLE = "pg_pair_probe"


@pytest.fixture(scope="module")
def primary(django_db_setup: None, pg_pair: Any) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the test database on the primary, with a probe table
    (created and dropped outside every test: its DDL must not wait for a standby query)."""
    name = connections["default"].settings_dict["NAME"]
    with psycopg.connect(pg_pair.primary_dsn(name), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id serial PRIMARY KEY, v text)")
        pg_pair.wait_caught_up()
        yield conn
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")


@pytest.fixture
def insert(primary: psycopg.Connection[Any]) -> Iterator[Callable[[str], None]]:
    """Commit a probe row on the primary; the rows go after the test."""

    def insert(value: str) -> None:
        primary.execute(f"INSERT INTO {TABLE} (v) VALUES (%s)", [value])

    yield insert
    primary.execute(f"DELETE FROM {TABLE}")


def on_replica(value: str) -> bool:
    """Whether the replica connection sees the probe row `value` (a new snapshot: read
    committed, one per statement)."""
    with connections["replica"].cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE v = %s)", [value])
        return bool(cursor.fetchone()[0])


def on_standby(pair: Any, value: str) -> bool:
    """As on_replica, on a connection of its own (for tests that kill the standby)."""
    name = connections["default"].settings_dict["NAME"]
    with psycopg.connect(pair.standby_dsn(name)) as conn:
        row = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE v = %s)", [value])
        return bool(row.fetchone()[0])  # type: ignore[index]


@REPLICA_DB
def test_the_replica_is_a_hot_standby_of_the_test_database(pg_pair: Any) -> None:
    facts = "SELECT pg_is_in_recovery(), current_database(), current_setting('unix_socket_directories'), (SELECT system_identifier FROM pg_control_system())"  # noqa: E501
    with connections["default"].cursor() as cursor:
        cursor.execute(facts)
        primary = cursor.fetchone()
    with connections["replica"].cursor() as cursor:
        cursor.execute(facts)
        replica = cursor.fetchone()
    assert primary[0] is False
    assert replica[0] is True  # in recovery: a standby
    assert replica[1] == primary[1]
    assert replica[1].startswith("test_")  # the test database, never a real one
    assert replica[2] != primary[2]  # another server (its own socket folder)
    assert replica[3] == primary[3]  # a physical copy of the primary's cluster
    assert pg_pair.standby_replay_lsn() <= pg_pair.primary_lsn()


@REPLICA_DB
def test_a_commit_on_the_primary_is_on_the_replica_once_replayed(
    pg_pair: Any, insert: Callable[[str], None]
) -> None:
    insert("one")
    pg_pair.wait_caught_up()
    assert on_replica("one")
    assert pg_pair.standby_replay_lsn() >= pg_pair.primary_lsn() - 0  # nothing since


@REPLICA_DB
def test_a_paused_replay_hides_a_commit_until_resumed(
    standby: Any, insert: Callable[[str], None]
) -> None:
    standby.pause_replay()
    insert("while-paused")
    target = standby.primary_lsn()
    assert not on_replica("while-paused")
    with pytest.raises(TimeoutError):
        standby.wait_caught_up(timeout=0.3)
    assert standby.standby_replay_lsn() < target
    assert not on_replica("while-paused")

    standby.resume_replay()
    standby.wait_caught_up()
    assert on_replica("while-paused")


@REPLICA_DB
def test_an_apply_delay_holds_a_commit_back_then_it_arrives(
    standby: Any, insert: Callable[[str], None]
) -> None:
    standby.set_apply_delay(500)
    for attempt in range(5):
        insert(f"delayed-{attempt}")
        committed = time.monotonic()
        seen = on_replica(f"delayed-{attempt}")
        if time.monotonic() - committed < 0.3:  # else this box stalled: the check was late
            break
    assert not seen
    standby.wait_caught_up()
    assert on_replica(f"delayed-{attempt}")

    standby.set_apply_delay(0)
    insert("undelayed")
    standby.wait_caught_up(timeout=5)
    assert on_replica("undelayed")


def test_a_killed_standby_starts_again_and_catches_up(
    standby: Any, insert: Callable[[str], None]
) -> None:
    standby.kill_standby()
    with pytest.raises(psycopg.OperationalError):
        on_standby(standby, "anything")
    insert("while-dead")  # the slot keeps the WAL for it

    standby.start_standby()
    standby.wait_caught_up()
    assert on_standby(standby, "while-dead")
    assert standby.standby.postmaster_pid() is not None


def test_a_stopped_standby_starts_again(standby: Any, insert: Callable[[str], None]) -> None:
    standby.stop_standby()
    insert("while-stopped")
    standby.start_standby()
    standby.wait_caught_up()
    assert on_standby(standby, "while-stopped")


@REPLICA_DB
def test_the_tenants_search_path_applies_on_the_replica(
    pg_pair: Any, primary: psycopg.Connection[Any], acme: Tenant, globex: Tenant
) -> None:
    # Only in acme's schema, committed: the standby replays it.
    primary.execute(
        "INSERT INTO acme.auth_user (password, is_superuser, username, first_name, last_name,"
        " email, is_staff, is_active, date_joined) VALUES ('!', false, 'replica-probe', '', '',"
        " '', false, true, now())"
    )
    try:
        pg_pair.wait_caught_up()
        users = get_user_model().objects.using("replica")
        replica = connections["replica"]
        replica.set_tenant(acme)
        assert users.filter(username="replica-probe").exists()
        with replica.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == "acme"
        replica.set_tenant(globex)
        assert not users.filter(username="replica-probe").exists()
        assert users.filter(username="admin").exists()  # globex's own admin
        with replica.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == "globex"
    finally:
        connections["replica"].set_schema_to_public()
        primary.execute("DELETE FROM acme.auth_user WHERE username = 'replica-probe'")
