"""The cache's own Django signals, for observers such as metrics (they never change behaviour).

Each is sent with `sender=None`; receivers must be cheap (cache_read runs on every hit).
"""

from __future__ import annotations

from django.dispatch import Signal

# A get-or-set finished: entry_id (str), result ("HIT" | "MISS" | "BYPASS").
cache_read = Signal()
# Entries were invalidated in Redis: tenant (str), entry_ids (list[str] | None = all).
cache_invalidated = Signal()
# An invalidation could not reach Redis and was deferred: tenant, entry_ids (None = all).
invalidation_deferred = Signal()
# A Redis call failed: error (the exception).
redis_failed = Signal()
# The circuit breaker opened (is_open=True) or closed again (is_open=False).
breaker_changed = Signal()
