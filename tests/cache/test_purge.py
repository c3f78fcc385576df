"""purge_tenant: a deleted tenant's keys all go, none come back, and a purge Redis could not
run is kept until it has run; key_space_refusal guards a new tenant of that name."""

from __future__ import annotations

import pytest
from django.db import connection
from django_redis import get_redis_connection

from tenant_cache import (
    BYPASS,
    HIT,
    MISS,
    get_or_set,
    invalidate_entries,
    key_space_refusal,
    purge_tenant,
    reset_backend,
)
from tenant_cache.invalidation import pending_invalidations, pending_purges
from tenant_cache.models import DeferredCacheInvalidation
from tenants.models import Tenant
from tests.support.processes import wait_until


def keys_of(tenant: str, client=None) -> set[str]:  # type: ignore[no-untyped-def]
    client = client or get_redis_connection("default")
    return {key.decode() for key in client.scan_iter(f"cache:{{{tenant}}}:*")}


PURGED = "cache:{gone}:_meta:purged"


@pytest.fixture
def gone(db):  # type: ignore[no-untyped-def]
    """A tenant that was just deleted (its row is gone), as the current tenant: what a
    request that another process still routes to it would run as."""
    deleted = Tenant(schema_name="gone", slug="gone")
    connection.set_tenant(deleted)
    yield deleted
    connection.set_schema_to_public()


@pytest.fixture
def two_tenants_cached(gone, globex, entry, other_entry):  # type: ignore[no-untyped-def]
    """Values (with parameters), generations, indexes, entries and stats of both tenants."""
    for tenant in (gone, globex):
        connection.set_tenant(tenant)
        for _ in range(2):
            get_or_set(entry, None, lambda: 1)
            get_or_set(entry, {"days": 7}, lambda: 7)
            get_or_set(other_entry, None, lambda: 2)
        invalidate_entries(tenant.schema_name, [other_entry])  # a generation key
        get_or_set(other_entry, None, lambda: 2)
    connection.set_schema_to_public()


def test_purging_a_tenant_deletes_every_key_of_it_and_no_other_tenants(two_tenants_cached):
    gone_keys, globex_keys = keys_of("gone"), keys_of("globex")
    assert {"cache:{gone}:_meta:stats", "cache:{gone}:_meta:entries"} <= gone_keys
    assert "cache:{gone}:_meta:gen:dashboard:other" in gone_keys

    deleted = purge_tenant("gone")

    assert deleted == len(gone_keys)
    assert keys_of("gone") == {PURGED}  # only the marker that keeps its key space closed
    assert keys_of("globex") == globex_keys


def test_a_purge_also_deletes_keys_its_indexes_do_not_reach(gone, entry):
    client = get_redis_connection("default")
    get_or_set(entry, None, lambda: 1)
    client.set("cache:{gone}:_meta:lock:dashboard:probe:days=9", "a dead holder's", px=60_000)
    client.set("cache:{gone}:_meta:gen:dashboard:removed_entry", 4)
    client.set("cache:{gone2}:dashboard:probe", "another tenant's")

    purge_tenant("gone")

    assert keys_of("gone") == {PURGED}
    assert client.get("cache:{gone2}:dashboard:probe") == b"another tenant's"


def test_the_purged_key_space_stays_closed_to_requests_still_routed_to_the_old_tenant(gone, entry):
    get_or_set(entry, None, lambda: "old")
    purge_tenant("gone")

    late = get_or_set(entry, None, lambda: "computed by a stale route")  # another process
    invalidate_entries("gone", [entry])  # a write committed just before the deletion

    assert late.status == BYPASS
    assert keys_of("gone") == {PURGED}
    assert 0 < get_redis_connection("default").pttl(PURGED) <= 60_000


def test_a_reader_that_started_before_the_purge_cannot_store_after_it(gone, entry):
    def fetch_while_the_tenant_is_deleted() -> str:
        purge_tenant("gone")  # the deletion commits while this reader queries
        return "the deleted tenant's value"

    result = get_or_set(entry, None, fetch_while_the_tenant_is_deleted)

    assert result.status == MISS
    assert keys_of("gone") == {PURGED}


def test_a_purge_forgets_the_tenants_deferred_invalidations(gone, entry, private_redis):
    get_or_set(entry, None, lambda: 1)
    private_redis.hang()
    try:
        invalidate_entries("gone", [entry])
        invalidate_entries("globex", [entry])
        assert set(pending_invalidations()) == {"gone", "globex"}

        purge_tenant("gone")  # deferred too: Redis still hangs
    finally:
        private_redis.resume()

    assert set(pending_invalidations()) == {"globex"}
    assert pending_purges() == {"gone"}
    rows = DeferredCacheInvalidation.objects.values_list("tenant", "purge")
    assert sorted(rows) == [("globex", False), ("gone", True)]


def test_a_purge_redis_could_not_run_is_recorded_and_replayed_before_any_hit(
    gone, globex, entry, private_redis
):
    get_or_set(entry, None, lambda: "gone's")
    connection.set_tenant(globex)
    get_or_set(entry, None, lambda: "globex's")
    private_redis.hang()
    try:
        assert purge_tenant("gone") == 0
        assert pending_purges() == {"gone"}
        assert DeferredCacheInvalidation.objects.filter(tenant="gone", purge=True).exists()
    finally:
        private_redis.resume()

    connection.set_tenant(globex)  # another tenant's hit, once the cool-down has passed
    assert wait_until(lambda: get_or_set(entry, None, lambda: "globex's").status == HIT)

    assert keys_of("gone", private_redis.client()) == {PURGED}
    assert pending_purges() == set()


def test_a_purge_another_process_recorded_runs_before_this_process_serves_a_hit(
    gone, globex, entry
):
    get_or_set(entry, None, lambda: "gone's")
    connection.set_tenant(globex)
    get_or_set(entry, None, lambda: "globex's")
    DeferredCacheInvalidation.objects.create(tenant="gone", purge=True)  # by a dead process
    reset_backend()  # this process starts now

    assert get_or_set(entry, None, lambda: "globex's").status == HIT

    assert keys_of("gone") == {PURGED}
    assert not DeferredCacheInvalidation.objects.exists()


def test_a_late_purge_leaves_a_new_tenant_of_that_name_alone(acme, entry):
    """A process replays a purge of "acme" after a new acme was created (whose creation
    ran that purge already): the new tenant's cache stays."""
    connection.set_tenant(acme)
    get_or_set(entry, None, lambda: "the new acme's")
    DeferredCacheInvalidation.objects.create(tenant="acme", purge=True)
    reset_backend()

    assert get_or_set(entry, None, lambda: "the new acme's").status == HIT
    assert not DeferredCacheInvalidation.objects.exists()


def test_a_name_whose_keys_remain_is_refused_with_how_to_delete_them(gone, entry):
    get_or_set(entry, None, lambda: "a former tenant's")

    refusal = key_space_refusal("gone")

    assert refusal is not None
    assert "cache:{gone}:*" in refusal
    assert "manage.py cache_purge gone" in refusal


def test_a_purged_name_is_free_again_and_its_key_space_reopened(gone, entry):
    get_or_set(entry, None, lambda: "old")
    purge_tenant("gone")

    assert key_space_refusal("gone") is None

    assert keys_of("gone") == set()
    assert get_or_set(entry, None, lambda: "new").status == MISS
    assert get_or_set(entry, None, lambda: "new").value == "new"


def test_a_name_with_a_pending_purge_is_refused_while_redis_is_away_and_purged_after(
    gone, entry, private_redis
):
    get_or_set(entry, None, lambda: "old")
    private_redis.hang()
    try:
        purge_tenant("gone")
        refusal = key_space_refusal("gone")
    finally:
        private_redis.resume()
    assert refusal is not None
    assert "not been purged yet" in refusal

    # Redis answers again (once the breaker's cool-down has passed): the purge runs now.
    assert wait_until(lambda: key_space_refusal("gone") is None)

    assert keys_of("gone", private_redis.client()) == set()
    assert pending_purges() == set()
    assert not DeferredCacheInvalidation.objects.exists()


def test_a_name_never_used_is_free_even_with_redis_away(gone, entry, private_redis):
    private_redis.kill()

    assert key_space_refusal("newname") is None  # every failed purge is recorded
