"""FireLater's tenant-safe cache: the only module that talks to Redis.

from firelater.cache import get_or_set, invalidate, registry
result = get_or_set(entry, {"days": 30}, lambda: selectors.trends(days=30))
result.body      # JSON bytes, the response body as stored
result.status    # "HIT" | "MISS" | "BYPASS"  (the X-Cache header)
"""

from firelater.cache.core import (
    BYPASS,
    HIT,
    MISS,
    CacheResult,
    backend,
    get_or_set,
    invalidate,
    invalidate_entries,
    invalidate_tenant,
    pending_invalidations,
    reset_backend,
)
from firelater.cache.keys import CacheContextError, current_tenant, value_key
from firelater.cache.registry import CacheEntry, EntryRegistry, registry

__all__ = [
    "BYPASS",
    "HIT",
    "MISS",
    "CacheContextError",
    "CacheEntry",
    "CacheResult",
    "EntryRegistry",
    "backend",
    "current_tenant",
    "get_or_set",
    "invalidate",
    "invalidate_entries",
    "invalidate_tenant",
    "pending_invalidations",
    "registry",
    "reset_backend",
    "value_key",
]
