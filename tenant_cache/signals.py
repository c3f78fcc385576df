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
# Where a recomputation (entry_id) or a read-only block (entry_id "") ran with a standby
# configured: outcome "replica", "waited" (on the standby, after waiting for its replay),
# "primary_lag" (it was behind), "primary_down" (it failed, or its breaker is open) or
# "primary_transaction" (inside a transaction on the primary).
replica_read = Signal()
# The standby's breaker opened (is_open=True) or closed again (is_open=False).
replica_changed = Signal()
