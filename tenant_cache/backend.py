"""This process's Redis client, Lua scripts and circuit breaker, rebuilt when settings change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from tenant_cache import scripts
from tenant_cache.breaker import CircuitBreaker
from tenant_cache.conf import setting


@dataclass(frozen=True)
class CacheConfig:
    ttl_jitter: float
    compress_min: int
    lock_ttl_ms: int
    lock_wait: float
    breaker_cooldown: float
    alias: str
    max_stale_ms: int
    refresh_ahead_ms: int
    refresh_delay: float


def _load_config() -> CacheConfig:
    return CacheConfig(
        ttl_jitter=float(setting("CACHE_TTL_JITTER")),
        compress_min=int(setting("CACHE_COMPRESS_MIN_BYTES")),
        lock_ttl_ms=int(float(setting("CACHE_LOCK_TTL")) * 1000),
        lock_wait=float(setting("CACHE_LOCK_WAIT")),
        breaker_cooldown=float(setting("CACHE_BREAKER_COOLDOWN")),
        alias=str(setting("CACHE_REDIS_ALIAS")),
        max_stale_ms=max(0, int(float(setting("CACHE_MAX_STALE")) * 1000)),
        refresh_ahead_ms=max(0, int(float(setting("CACHE_REFRESH_AHEAD")) * 1000)),
        refresh_delay=max(0.0, float(setting("CACHE_REFRESH_DELAY"))),
    )


class Backend:
    """The Redis client (django-redis's, by alias), registered scripts and the breaker."""

    def __init__(self) -> None:
        self.config = _load_config()
        self.breaker = CircuitBreaker(self.config.breaker_cooldown)
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._lock = threading.Lock()
        # Set once this process (this Backend) has replayed the invalidations that any
        # process left in the shared table: a process started after an outage must not
        # serve an entry that a process which has died since failed to drop.
        self.deferred_replayed = False

    @property
    def client(self) -> Any:
        if self._client is None:
            from django_redis import get_redis_connection

            with self._lock:
                if self._client is None:
                    self._client = get_redis_connection(self.config.alias)
        return self._client

    def script(self, name: str) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self.client.register_script(getattr(scripts, name))
            self._scripts[name] = script
        return script


_backend = Backend()
# Called after the backend is replaced (invalidation forgets this process's pending work).
_on_reset: list[Callable[[], None]] = []


def backend() -> Backend:
    return _backend


def reset_backend() -> None:
    """Forget the client, scripts, breaker and pending invalidations (tests, reconfig)."""
    global _backend
    _backend = Backend()
    for callback in _on_reset:
        callback()


@receiver(setting_changed)
def _reset_on_settings_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES" or setting.startswith("CACHE_"):
        reset_backend()
