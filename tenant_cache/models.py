"""The cache's one model: invalidations that could not reach Redis, shared by every process."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DeferredCacheInvalidation(models.Model):
    """A cache invalidation that could not reach Redis, kept where every process sees it.

    The process whose invalidation failed replays it as soon as Redis answers; so does
    every other process before its circuit breaker lets it serve cached values again
    (tenant_cache.invalidation). Lives in the public schema; entry_ids null = all entries;
    purge: the tenant was deleted and every key of it must go.
    """

    tenant = models.CharField(max_length=63)
    entry_ids = models.JSONField(null=True, blank=True)
    # A deleted tenant's purge (every key of it), not an invalidation.
    purge = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        # The table FireLater created before the cache became an app of its own.
        db_table = "tenants_deferredcacheinvalidation"

    def __str__(self) -> str:
        return f"{self.tenant}: {'purge' if self.purge else self.entry_ids or 'all'}"
