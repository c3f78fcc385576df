"""Invalidations that failed while Redis was unreachable, shared through PostgreSQL.

An in-process list alone is not enough with several workers: the worker that did the
write remembers it, but another worker whose breaker closes first would serve the stale
entry. So a failed invalidation is also written to a public-schema table, and every
process replays that table before it trusts Redis again.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("firelater.cache")


def record(tenant: str, entry_ids: list[str] | None) -> None:
    from tenants.models import DeferredCacheInvalidation

    try:
        DeferredCacheInvalidation.objects.create(tenant=tenant, entry_ids=entry_ids)
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not persist a deferred cache invalidation of %s", tenant)


def pending() -> list[tuple[int, str, list[str] | None]]:
    """Rows to replay; empty (and logged) when PostgreSQL cannot be read."""
    from tenants.models import DeferredCacheInvalidation

    try:
        return list(DeferredCacheInvalidation.objects.values_list("id", "tenant", "entry_ids"))
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not read deferred cache invalidations")
        return []


def forget(ids: list[int]) -> None:
    from tenants.models import DeferredCacheInvalidation

    if not ids:
        return
    try:
        DeferredCacheInvalidation.objects.filter(id__in=ids).delete()
    except Exception:  # bookkeeping must never break a request
        logger.exception("Could not clear replayed cache invalidations")
