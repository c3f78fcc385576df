"""The cache on a real PostgreSQL hot standby (the suite's private pair, tests/support).

The replica-lag race, made deterministic: the standby's replay is paused
(pg_wal_replay_pause) so it really lacks a committed write; the entry is recomputed; the
test asserts what is stored. Every write here commits (autocommit, no test transaction:
a standby only ever sees committed data), in a tenant of this module's own.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

import tenant_cache
from firelater.health import readiness
from issues.factories import IssueFactory
from issues.models import Issue
from tenant_cache import HIT, MISS, STALE, CacheEntry, acting_as, registry, replica
from tenant_cache.keys import meta_key
from tenant_cache.reads import UNKNOWN_LSN, own_write_lsn
from tenant_cache.refresh import run_due
from tenants.models import Tenant
from tenants.services import tenant_setup
from tests.support.redis_server import server_epoch

SLUG = "lagged"
PASSWORD = "lagged-pass-123"  # test-only


def probe() -> dict[str, Any]:
    """The entry's figure, and which database alias the ORM read it from."""
    issues = Issue.objects.all()
    return {"issues": issues.count(), "db": issues.db}


ENTRY = CacheEntry("dashboard", "replica_probe", frozenset({"issues"}), fetch=probe)


@pytest.fixture(scope="module")
def lagged(django_db_setup, django_db_blocker) -> Iterator[Tenant]:  # type: ignore[no-untyped-def]
    """A committed tenant with three issues, dropped at the end."""
    with django_db_blocker.unblock():
        setup = tenant_setup(
            slug=SLUG,
            name="Lagged",
            domain=f"{SLUG}.localhost",
            admin_username="admin",
            admin_password=PASSWORD,
        )
        try:
            with tenant_context(setup.tenant):
                IssueFactory.create_batch(3)
            yield setup.tenant
        finally:
            connections["default"].set_schema_to_public()
            setup.tenant.delete(force_drop=True)


@pytest.fixture
def outcomes() -> Iterator[list[str]]:
    """Where each recomputation or list read ran, as tenant_cache.signals reports it."""
    seen: list[str] = []

    def record(*, outcome: str, **kwargs: Any) -> None:
        seen.append(outcome)

    tenant_cache.signals.replica_read.connect(record, dispatch_uid="test-replica-outcomes")
    yield seen
    tenant_cache.signals.replica_read.disconnect(dispatch_uid="test-replica-outcomes")


@pytest.fixture
def on_standby(settings, standby, lagged, django_db_blocker) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """Replica reads on (as DATABASE_REPLICA_URL does), the probe entry registered, the
    standby caught up, the body in the lagged tenant; the standby restored after."""
    settings.CACHE_REPLICA_ALIAS = "replica"
    settings.CACHE_REPLICA_COOLDOWN = 0.3
    settings.CACHE_REFRESH_AHEAD = 0
    registry.register(ENTRY)
    with django_db_blocker.unblock():
        standby.wait_caught_up()
        try:
            with tenant_context(lagged):
                yield standby
        finally:
            registry.unregister(ENTRY)  # the standby fixture resumes and restarts it
            for alias in ("default", "replica"):
                connections[alias].close()


def issue_count() -> int:
    return Issue.objects.using("default").count()


def on_the_standby(query: Any) -> Any:
    """Run `query` on the standby's connection in the current tenant (what it has now)."""
    with replica._on("replica"):
        return query()


# --- Routing ----------------------------------------------------------------------------


@pytest.mark.django_db(
    databases=["default", "replica"]
)  # also makes pytest-django create the test database for this module
def test_the_replica_connection_is_the_standbys_copy_of_the_test_database(pg_pair):
    """The other tests need no test transaction (a standby sees only committed rows, and
    a recomputation inside a transaction stays on the primary); this marked one makes
    pytest-django set the test database up when the module runs alone."""
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_database()")
        assert cursor.fetchone() == (True, connections["default"].settings_dict["NAME"])


def test_a_recomputation_reads_the_standby_in_the_requests_tenant(on_standby, outcomes):
    result = tenant_cache.read(ENTRY)

    assert result.status == MISS
    assert result.value == {"issues": issue_count(), "db": "replica"}
    assert outcomes == ["replica"]
    with replica._on("replica"), replica.reading_connection().cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_schemas(false)")
        in_recovery, schemas = cursor.fetchone()
    assert in_recovery is True
    assert schemas[0] == SLUG  # django-tenants' search_path, on the standby's connection
    assert tenant_cache.read(ENTRY).status == HIT


def test_the_standby_sees_each_tenants_own_rows(on_standby):
    mine = on_the_standby(lambda: sorted(Issue.objects.values_list("id", flat=True)))
    acme = Tenant.objects.get(slug="acme")
    with tenant_context(acme):
        theirs = on_the_standby(lambda: Issue.objects.count())
        acme_on_primary = issue_count()

    assert mine == sorted(Issue.objects.using("default").values_list("id", flat=True))
    assert theirs == acme_on_primary  # acme's schema on the standby, not the lagged one


def test_writes_never_go_to_the_standby_and_nothing_migrates_it(on_standby):
    router = tenant_cache.ReplicaRouter()
    with replica._on("replica"):
        assert router.db_for_read(Issue) == "replica"
        assert router.db_for_write(Issue) == "default"
        issue = IssueFactory()  # inside a replica block, still written to the primary
    assert Issue.objects.using("default").filter(id=issue.id).exists()
    assert router.allow_migrate("replica", "issues") is False
    assert router.allow_migrate("default", "issues") is None  # django-tenants decides


# --- The lag race --------------------------------------------------------------------------


def test_a_standby_that_lacks_the_write_never_has_its_figures_stored(on_standby, outcomes):
    before = tenant_cache.read(ENTRY).value["issues"]
    on_standby.pause_replay()
    IssueFactory()  # committed on the primary; its invalidation records the WAL position
    lsn_key = meta_key(SLUG, "lsn", ENTRY.id)
    recorded = recorded_lsn(lsn_key)
    assert on_the_standby(Issue.objects.count) == before  # the race is real: it lacks it
    assert replica.primary_lsn() >= recorded > on_standby.standby_replay_lsn()

    outcomes.clear()
    result = tenant_cache.read(ENTRY)

    assert result.status == MISS
    assert result.value == {"issues": before + 1, "db": "default"}  # computed on the primary
    assert outcomes == ["primary_lag"]
    assert tenant_cache.read(ENTRY).value == {"issues": before + 1, "db": "default"}  # stored


def test_a_recomputation_waits_for_the_standby_to_replay_the_write(on_standby, settings, outcomes):
    settings.CACHE_REPLICA_MAX_WAIT = 30.0  # the replay resumes long before
    tenant_cache.read(ENTRY)
    on_standby.pause_replay()
    IssueFactory()
    expected = issue_count()
    results: list[Any] = []

    def read_in_tenant() -> None:
        try:
            with tenant_context(Tenant.objects.get(slug=SLUG)):
                results.append(tenant_cache.read(ENTRY))
        finally:
            for alias in ("default", "replica"):
                connections[alias].close()

    reader = threading.Thread(target=read_in_tenant)
    outcomes.clear()
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # waiting for the replay, not computing from the old snapshot
    on_standby.resume_replay()
    reader.join(30)

    assert [r.value for r in results] == [{"issues": expected, "db": "replica"}]
    assert outcomes == ["waited"]


def test_the_latest_of_two_writes_is_the_position_the_standby_must_reach(on_standby, outcomes):
    """Two invalidations of the entry, the standby replayed only the first: the position it
    must reach is the second's (the highest kept), not the first's it already passed."""
    lsn_key = meta_key(SLUG, "lsn", ENTRY.id)
    before = tenant_cache.read(ENTRY).value["issues"]
    IssueFactory()
    on_standby.wait_caught_up()
    first = recorded_lsn(lsn_key)
    assert on_standby.standby_replay_lsn() >= first
    on_standby.pause_replay()
    IssueFactory()
    assert on_the_standby(Issue.objects.count) == before + 1  # it lacks the second write
    outcomes.clear()

    assert tenant_cache.read(ENTRY).value == {"issues": before + 2, "db": "default"}
    assert outcomes == ["primary_lag"]
    assert recorded_lsn(lsn_key) > on_standby.standby_replay_lsn() >= first


def test_a_lost_wal_position_requires_the_primarys_current_one(on_standby, outcomes):
    """Redis lost the entry's recorded position (a flush, another master): the standby
    must then have replayed everything the primary has, or the primary computes."""
    before = tenant_cache.read(ENTRY).value["issues"]
    on_standby.pause_replay()
    IssueFactory()
    get_redis_connection("default").delete(meta_key(SLUG, "lsn", ENTRY.id))
    outcomes.clear()

    assert tenant_cache.read(ENTRY).value == {"issues": before + 1, "db": "default"}
    assert outcomes == ["primary_lag"]


FOREIGN_RUN_ID = "0" * 40  # a Redis master that is not this one


def recorded_lsn(key: str, field: str | None = None) -> int:
    """A recorded WAL position ('<lsn>:<run_id>'), checked to be this server's."""
    client = get_redis_connection("default")
    raw = client.hget(key, field) if field else client.get(key)
    lsn, origin = raw.decode().split(":")
    assert origin == server_epoch(client).decode()
    return int(lsn)


def test_a_position_another_redis_master_recorded_counts_as_none(on_standby, outcomes):
    """After a failover the new master may hold the old master's record of an earlier
    invalidation, lower than the one it lost: the standby has replayed that lower position,
    so trusting it would store figures without the lost write."""
    before = tenant_cache.read(ENTRY).value["issues"]
    on_standby.pause_replay()
    IssueFactory()
    behind = on_standby.standby_replay_lsn()
    client = get_redis_connection("default")
    client.set(meta_key(SLUG, "lsn", ENTRY.id), f"{behind}:{FOREIGN_RUN_ID}")
    outcomes.clear()

    assert tenant_cache.read(ENTRY).value == {"issues": before + 1, "db": "default"}
    assert outcomes == ["primary_lag"]


def test_an_invalidation_replaces_another_masters_record_even_when_it_is_higher(on_standby):
    tenant_cache.read(ENTRY)
    lsn_key = meta_key(SLUG, "lsn", ENTRY.id)
    get_redis_connection("default").set(lsn_key, f"{1 << 60}:{FOREIGN_RUN_ID}")

    IssueFactory()

    assert recorded_lsn(lsn_key) <= replica.primary_lsn() < 1 << 60


def test_a_writers_position_another_master_recorded_keeps_the_standby_from_them(
    on_standby, settings
):
    settings.CACHE_MAX_STALE = 30.0  # the writer's read-your-writes hash is kept
    with acting_as("writer"):
        IssueFactory()
        ryw = meta_key(SLUG, "ryw", "writer")
        assert own_write_lsn() == recorded_lsn(ryw, "_lsn")
        get_redis_connection("default").hset(ryw, "_lsn", f"1:{FOREIGN_RUN_ID}")

        assert own_write_lsn() == UNKNOWN_LSN


def test_a_caught_up_standby_serves_the_recomputation_after_a_write(on_standby, outcomes):
    tenant_cache.read(ENTRY)
    IssueFactory()
    on_standby.wait_caught_up()
    outcomes.clear()

    assert tenant_cache.read(ENTRY).value == {"issues": issue_count(), "db": "replica"}
    assert outcomes in (["replica"], ["waited"])


# --- With bounded staleness and read-your-writes ---------------------------------------------


def test_bounded_staleness_and_read_your_writes_hold_with_a_lagging_standby(
    on_standby, settings, outcomes
):
    settings.CACHE_MAX_STALE = 30.0  # others may keep the previous value; the writer may not
    before = tenant_cache.read(ENTRY).value["issues"]
    on_standby.pause_replay()
    with acting_as("writer"):
        IssueFactory()
        assert own_write_lsn() is not None
        assert own_write_lsn() > on_standby.standby_replay_lsn()

    with acting_as("someone-else"):
        theirs = tenant_cache.read(ENTRY)
    with acting_as("writer"):
        mine = tenant_cache.read(ENTRY)
    with acting_as("someone-else"):
        theirs_after = tenant_cache.read(ENTRY)

    assert (theirs.status, theirs.value["issues"]) == (STALE, before)  # within the bound
    assert (mine.status, mine.value) == (MISS, {"issues": before + 1, "db": "default"})
    assert (theirs_after.status, theirs_after.value["issues"]) == (HIT, before + 1)
    assert outcomes[-1] == "primary_lag"


def test_refresh_ahead_on_a_lagging_standby_stores_the_write(on_standby, settings, outcomes):
    settings.CACHE_MAX_STALE = 30.0
    settings.CACHE_REFRESH_AHEAD = 600.0
    before = tenant_cache.read(ENTRY).value["issues"]
    on_standby.pause_replay()
    IssueFactory()
    outcomes.clear()

    assert run_due(everything=True) == 1
    assert outcomes == ["primary_lag"]
    result = tenant_cache.read(ENTRY)
    assert (result.status, result.value["issues"]) == (HIT, before + 1)


# --- The standby down ----------------------------------------------------------------------


def test_a_killed_standby_costs_no_error_and_the_probe_says_degraded(
    on_standby, settings, outcomes
):
    assert readiness()[1]["status"] == "ok"
    on_standby.kill_standby()
    IssueFactory()

    result = tenant_cache.read(ENTRY)

    assert result.value == {"issues": issue_count(), "db": "default"}
    assert outcomes[-1] == "primary_down"
    assert replica.breaker.is_open
    status, body = readiness()
    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["replica"]["available"] is False
    IssueFactory()
    assert tenant_cache.read(ENTRY).value["db"] == "default"  # the breaker skips it

    on_standby.start_standby()
    on_standby.wait_caught_up()
    replica.reset()  # the cool-down has passed (it is 0.3 s; reset instead of sleeping)
    IssueFactory()
    assert tenant_cache.read(ENTRY).value == {"issues": issue_count(), "db": "replica"}
    assert readiness()[1]["status"] == "ok"


@contextmanager
def standby_hung(pair: Any) -> Iterator[None]:
    """Every process of the standby stopped (SIGSTOP): its sockets still accept and ack,
    nothing answers. Continued after the block, or after 10 s (so that a regression fails
    the test's bound instead of hanging the suite)."""
    pids = pair.standby.leftover_pids()
    assert pids

    def resume() -> None:
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    rescue = threading.Timer(10.0, resume)
    rescue.start()
    try:
        yield
    finally:
        rescue.cancel()
        resume()


@pytest.mark.parametrize("connection", ["open", "new"])
def test_a_hung_standby_costs_a_bounded_wait_then_the_primary_answers(
    on_standby, settings, outcomes, connection
):
    settings.CACHE_REPLICA_TIMEOUT = 0.5
    assert on_the_standby(Issue.objects.count) == issue_count()  # its connection is open
    if connection == "new":
        connections["replica"].close()  # bounded by connect_timeout (1 s) instead
    IssueFactory()
    with standby_hung(on_standby):
        started = time.monotonic()
        result = tenant_cache.read(ENTRY)
        took = time.monotonic() - started
        status, body = readiness()  # the breaker is open: the probe does not wait either
        IssueFactory()
        listed = tenant_cache.read(ENTRY)

    assert result.value == {"issues": issue_count() - 1, "db": "default"}
    assert outcomes[0] == "primary_down"
    assert took < 1.5 + 1.0  # the bound (0.5 s or connect_timeout) plus a loaded machine
    assert (status, body["status"]) == (200, "degraded")
    assert listed.value == {"issues": issue_count(), "db": "default"}


def test_a_standby_too_far_behind_is_skipped_after_a_few_timeouts(on_standby, settings, outcomes):
    settings.CACHE_REPLICA_MAX_WAIT = 0.01
    settings.CACHE_REPLICA_LAG_FAILURES = 2
    on_standby.pause_replay()
    for _ in range(2):
        IssueFactory()
        tenant_cache.read(ENTRY)
    assert outcomes[-2:] == ["primary_lag", "primary_lag"]
    assert replica.breaker.is_open
    IssueFactory()
    outcomes.clear()
    assert tenant_cache.read(ENTRY).value["db"] == "default"
    assert outcomes == ["primary_down"]  # skipped without waiting
    assert readiness()[1]["status"] == "degraded"


# --- Lists ---------------------------------------------------------------------------------


def api_as(username: str, *, role_groups: tuple[str, ...] = ()) -> APIClient:
    user, _ = get_user_model().objects.get_or_create(username=username)
    if role_groups:
        from django.contrib.auth.models import Group

        user.groups.set(Group.objects.filter(name__in=role_groups))
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient(HTTP_HOST=f"{SLUG}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def listed(client: APIClient) -> dict[str, Any]:
    response = client.get("/api/v1/issues/", {"page_size": 100})
    assert response.status_code == 200, response.content
    return response.json()


def listed_titles(client: APIClient) -> set[str]:
    return {row["title"] for row in listed(client)["results"]}


def test_lists_read_the_standby_but_a_writer_always_sees_their_own_write(
    on_standby, settings, outcomes
):
    settings.CACHE_MAX_STALE = 30.0  # others accept a standby that is a little behind
    writer = api_as("admin")
    other = api_as("list-reader", role_groups=("agent",))
    outcomes.clear()
    assert listed_titles(other) == set(
        Issue.objects.using("default").values_list("title", flat=True)
    )
    assert outcomes == ["replica"]

    on_standby.pause_replay()
    created = writer.post("/api/v1/issues/", {"title": "mine, just now", "priority": "high"})
    assert created.status_code == 201, created.content
    outcomes.clear()

    assert "mine, just now" in listed_titles(writer)  # read-your-writes: the primary
    assert outcomes == ["primary_lag"]


def test_with_strict_freshness_a_list_never_comes_from_a_standby_behind(on_standby, settings):
    settings.CACHE_MAX_STALE = 0
    on_standby.pause_replay()
    IssueFactory(title="written by someone else")

    assert "written by someone else" in listed_titles(api_as("list-reader", role_groups=("agent",)))


def test_a_list_on_a_standby_that_dies_is_answered_by_the_primary(on_standby, outcomes):
    on_standby.kill_standby()
    outcomes.clear()

    assert listed(api_as("admin"))["count"] == issue_count()
    assert replica.breaker.is_open
    on_standby.start_standby()
