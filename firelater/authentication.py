"""Token authentication with the token -> user lookup cached per process and tenant."""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from firelater import revocation


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication with the token -> user lookup kept in this process.

    The lookup is one SQL query per request, more than half of a warm dashboard hit's time
    (make bench). Answers are kept per (tenant schema, token) for AUTH_TOKEN_CACHE_TTL
    seconds, and only while the tenant's revocation epoch is the one they were read under:
    any change to the tenant's users or tokens, in any process and by any path (saves,
    QuerySet.update, raw SQL), moves the epoch within milliseconds (firelater.revocation).
    The TTL bounds what is kept while the revocation listener is down; saving or deleting
    a token or user in this process forgets everything at once in any case. Only valid,
    active users are kept, and each request gets its own copy of the user object.
    AUTH_TOKEN_CACHE_TTL = 0 turns the cache off.

    A token expires TOKEN_TTL seconds after it was issued (firelater.auth issues a new one
    at the next login); the expiry is checked on every request, from the cached token too.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = self._user_and_token(key)
        if token_expired(token):  # checked on every request, cached answer or not
            raise exceptions.AuthenticationFailed("Token has expired; log in again for a new one.")
        return user, token

    def _user_and_token(self, key: str) -> tuple[Any, Any]:
        ttl = float(getattr(settings, "AUTH_TOKEN_CACHE_TTL", 30.0))
        if ttl <= 0:
            return super().authenticate_credentials(key)
        schema = connection.schema_name
        epoch = revocation.stamp(revocation.auth_key(schema))  # before the query, not after
        cache_key = (schema, key)
        now = time.monotonic()
        cached = _token_cache.get(cache_key)
        if cached is not None and cached[0] > now and cached[3] == epoch:
            return copy.copy(cached[1]), cached[2]
        user, token = super().authenticate_credentials(key)  # raises for bad/inactive
        # The role's permissions are kept with the user (every copy shares them): a warm
        # request checks them without SQL. A role or permission change moves the epoch.
        user.get_all_permissions()
        with _token_lock:
            if len(_token_cache) > 50_000:  # bounded: many distinct tokens must not grow it
                _token_cache.clear()
            _token_cache[cache_key] = (now + ttl, user, token, epoch)
        return copy.copy(user), token


def token_expires_at(token: Any) -> dt.datetime:
    """When `token` stops working: TOKEN_TTL seconds after it was issued."""
    return token.created + dt.timedelta(seconds=settings.TOKEN_TTL)


def token_expired(token: Any) -> bool:
    return bool(timezone.now() >= token_expires_at(token))


_token_cache: dict[tuple[str, str], tuple[float, Any, Any, tuple[int, int]]] = {}
_token_lock = threading.Lock()


def forget_cached_tokens(**kwargs: Any) -> None:
    """A token or user changed: drop every cached answer of this process."""
    with _token_lock:
        _token_cache.clear()


def revoke_tokens_on_password_change(*, instance: Any, created: bool, **kwargs: Any) -> None:
    """A password set with set_password() (forms, admin, changepassword, code) ends the
    user's tokens, as Django ends their other sessions: a leaked password must not leave a
    token made with it working. (A rehash on login saves the same password: not this.)"""
    from rest_framework.authtoken.models import Token

    if not created and getattr(instance, "_password", None) is not None:
        Token.objects.filter(user=instance).delete()


def connect_token_cache_signals() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    for model in (Token, user_model, Group):  # a group deleted takes its members' role
        for signal in (post_save, post_delete):
            signal.connect(
                forget_cached_tokens,
                sender=model,
                dispatch_uid=f"forget-tokens-{signal is post_save}-{model._meta.label_lower}",
            )
    # Roles and permissions: the cache keeps them with each user; a role removed also ends
    # the user's tokens (in the database, firelater/migrations/0002, unseen by post_delete).
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            forget_cached_tokens,
            sender=through,
            dispatch_uid=f"forget-tokens-m2m-{through._meta.label_lower}",
        )
    post_save.connect(
        revoke_tokens_on_password_change,
        sender=get_user_model(),
        dispatch_uid="revoke-tokens-on-password-change",
    )
