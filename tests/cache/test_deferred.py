"""A failed invalidation reaches the shared PostgreSQL table, so other processes replay it.

The replay side is tested in test_faults.py; these guard the recording side, from real
failures (a killed redis-server), through the cache API and through a committed write.
"""

from __future__ import annotations

import pytest

from dashboard.entries import DASHBOARD_ENTRIES
from issues.factories import IssueFactory
from tenant_cache import invalidate_entries, invalidate_tenant
from tenant_cache.models import DeferredCacheInvalidation

pytestmark = pytest.mark.django_db


def test_an_invalidation_that_cannot_reach_redis_is_written_to_the_shared_table(
    acme_context, entry, private_redis
):
    private_redis.kill()
    invalidate_entries("acme", [entry])
    assert list(DeferredCacheInvalidation.objects.values_list("tenant", "entry_ids")) == [
        ("acme", [entry.id])
    ]


def test_a_tenant_wide_invalidation_is_recorded_as_all_entries(acme_context, private_redis):
    private_redis.kill()
    invalidate_tenant("acme")
    assert list(DeferredCacheInvalidation.objects.values_list("tenant", "entry_ids")) == [
        ("acme", None)
    ]


def test_a_write_committed_during_an_outage_leaves_its_entries_in_the_shared_table(
    in_acme, private_redis, django_capture_on_commit_callbacks
):
    private_redis.kill()
    with django_capture_on_commit_callbacks(execute=True):
        IssueFactory()
    rows = list(DeferredCacheInvalidation.objects.values_list("tenant", "entry_ids"))
    assert len(rows) == 1
    tenant, entry_ids = rows[0]
    issue_entries = {e.id for e in DASHBOARD_ENTRIES if "issues" in e.depends_on}
    assert (tenant, set(entry_ids)) == ("acme", issue_entries)
