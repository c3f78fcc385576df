"""Read-your-writes: who is acting, so a write's invalidation records its writer and that
writer's reads require at least the generation their write produced.

`ReadYourWritesMiddleware` makes the request's authenticated user the actor (Django's
session user, or DRF's token user, which DRF also sets on the Django request); outside a
request, `acting_as(user_id)` names one (a command, a task, a test).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse

_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "tenant_cache_request", default=None
)
_explicit: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tenant_cache_actor", default=None
)
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ReadYourWritesMiddleware:
    """Makes the request's user the cache's actor while the request runs (any position in
    MIDDLEWARE: the user is looked up only when the cache needs it, after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@contextmanager
def acting_as(user_id: Any) -> Iterator[None]:
    """Make `user_id` the actor of the cache calls inside the block."""
    token = _explicit.set(_checked(str(user_id)))
    try:
        yield
    finally:
        _explicit.reset(token)


def current_actor() -> str | None:
    """The acting user's id (a string safe in a key), or None (nobody: an anonymous
    request, a background job)."""
    explicit = _explicit.get()
    if explicit is not None:
        return explicit
    request = _request.get()
    user = getattr(request, "user", None) if request is not None else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return _checked(str(user.pk))


def _checked(user_id: str) -> str:
    if not _SAFE.fullmatch(user_id):
        raise ValueError(f"Invalid cache actor {user_id!r}")
    return user_id
