"""Bench-only instrumentation: SQL queries and server time per request, as headers.

Installed (outermost) only by bench.settings with BENCH_INSTRUMENT=1, so the tenant
lookup, authentication and the view's own queries are all counted:
  X-Bench-Queries       every statement sent through Django's connection
  X-Bench-Data-Queries  those reading the tenant's ITSM tables (issues, changes, ...)
  X-Bench-Server-Ms     time inside Django, from the first middleware to the last
django-tenants' `SET search_path` goes through the raw driver connection, not Django's
cursor wrapper, so it is not among them (it is skipped anyway while the tenant stays).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

DATA_TABLES = ("issues_issue", "changes_change", "requests_app_request", "applications_")


class _Counter:
    def __init__(self) -> None:
        self.total = 0
        self.data = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.total += 1
        if any(table in sql for table in DATA_TABLES):
            self.data += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = _Counter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-Server-Ms"] = f"{(time.perf_counter() - started) * 1000:.3f}"
        response["X-Bench-Queries"] = str(counter.total)
        response["X-Bench-Data-Queries"] = str(counter.data)
        return response
