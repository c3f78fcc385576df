"""Token authentication with the token -> user lookup cached per process and tenant."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.signals import post_delete, post_save
from rest_framework.authentication import TokenAuthentication


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication with the token -> user lookup kept in this process.

    The lookup is one SQL query per request, more than half of a warm dashboard hit's time
    (make bench). Answers are kept per (tenant schema, token) for AUTH_TOKEN_CACHE_TTL
    seconds; saving or deleting a token or a user in this process forgets them at once
    (connect_token_cache_signals), other processes within the TTL. Only valid, active
    users are kept, and each request gets its own copy of the user object.
    AUTH_TOKEN_CACHE_TTL = 0 turns the cache off.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        ttl = float(getattr(settings, "AUTH_TOKEN_CACHE_TTL", 30.0))
        if ttl <= 0:
            return super().authenticate_credentials(key)
        cache_key = (connection.schema_name, key)
        now = time.monotonic()
        cached = _token_cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return copy.copy(cached[1]), cached[2]
        user, token = super().authenticate_credentials(key)  # raises for bad/inactive
        with _token_lock:
            if len(_token_cache) > 50_000:  # bounded: many distinct tokens must not grow it
                _token_cache.clear()
            _token_cache[cache_key] = (now + ttl, user, token)
        return copy.copy(user), token


_token_cache: dict[tuple[str, str], tuple[float, Any, Any]] = {}
_token_lock = threading.Lock()


def forget_cached_tokens(**kwargs: Any) -> None:
    """A token or user changed: drop every cached answer of this process."""
    with _token_lock:
        _token_cache.clear()


def connect_token_cache_signals() -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    for model in (Token, get_user_model()):
        for signal in (post_save, post_delete):
            signal.connect(
                forget_cached_tokens,
                sender=model,
                dispatch_uid=f"forget-tokens-{signal is post_save}-{model._meta.label_lower}",
            )
