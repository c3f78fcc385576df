"""Login lockout: django-axes wired to FireLater's settings, client address and answers.

django-axes counts failed logins per username and client address in the AccessAttempt
table of the request's schema (a tenant's own, or public for the platform host), through
`authenticate(request=...)`: /login/, /admin/login/, /api-auth/login/ and the token
endpoint all pass the request. This module gives it its settings (read at each login),
the client address, and what a locked-out login answers: the pages a 429 page saying when
to try again, the API a JSON 429 with Retry-After.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from rest_framework.throttling import BaseThrottle


class LockoutBackend(AxesStandaloneBackend):
    """axes' backend, for logins that come with a request.

    Every login over HTTP passes its request (Django's login forms, DRF's token serializer
    as firelater.auth calls it), and is counted and locked. `authenticate()` without a
    request is not a network login (the test client's login(), a shell): there is no
    client to lock out, and axes would refuse it with an error.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)  # type: ignore[no-any-return]


def failure_limit(request: HttpRequest | None = None, credentials: Any = None) -> int:
    return int(settings.LOGIN_FAILURE_LIMIT)


def cool_off(request: HttpRequest | None = None) -> dt.timedelta:
    return dt.timedelta(seconds=float(settings.LOGIN_LOCKOUT_SECONDS))


def client_address(request: HttpRequest) -> str | None:
    """The client's address, by the rule the token throttle uses: the socket's peer, or
    behind NUM_PROXIES trusted proxies the address the outermost one saw. A client-sent
    X-Forwarded-For is never believed without a proxy in front. Anything that is not an
    address (a misconfigured proxy count) falls back to the socket's peer."""
    candidate = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return request.META.get("REMOTE_ADDR")


def locked_until(request: HttpRequest, credentials: dict[str, Any] | None) -> dt.datetime:
    """When the lock of this request's username and address ends: LOGIN_LOCKOUT_SECONDS
    after the last counted failure (failures while locked are not counted)."""
    now = timezone.now()
    handler = AxesProxyHandler.get_implementation()
    latest = [
        attempts.aggregate(latest=Max("attempt_time"))["latest"]
        for attempts in handler.get_user_attempts(request, credentials)
    ]
    last_failure = max((moment for moment in latest if moment is not None), default=now)
    return max(last_failure + cool_off(request), now)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """What a refused, locked-out login answers (AXES_LOCKOUT_CALLABLE): JSON where the
    login answered JSON (the token endpoint), a page otherwise; 429 with Retry-After."""
    until = locked_until(request, credentials)
    retry_after = max(1, math.ceil((until - timezone.now()).total_seconds()))
    wants_json = original_response is not None and original_response.get(
        "Content-Type", ""
    ).startswith("application/json")
    if wants_json:
        response: HttpResponse = JsonResponse(
            {
                "detail": (
                    "Too many failed login attempts for this username from your address. "
                    f"Try again in {retry_after} seconds."
                ),
                "retryAfter": retry_after,
                "lockedUntil": until.isoformat(),
            },
            status=429,
        )
    else:
        response = TemplateResponse(
            request,
            "registration/locked_out.html",
            {
                "username": get_client_username(request, credentials) or "",
                "locked_until": until,
                "retry_minutes": math.ceil(retry_after / 60),
                "retry_after": retry_after,
                "login_url": request.get_full_path(),
            },
            status=429,
        )
        response.render()
    response["Retry-After"] = str(retry_after)
    return response
