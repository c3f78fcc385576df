"""One log line per request (JSON with LOG_FORMAT=json) and a request id on every record.

The id is taken from a sane incoming X-Request-ID or made here, returned as X-Request-ID,
and attached (with the tenant) to every log record written while the request runs.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

from firelater import metrics

logger = logging.getLogger("firelater.request")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestContextFilter(logging.Filter):
    """Adds request_id and tenant to every record (for the formatters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "tenant"):
            schema = getattr(connection, "schema_name", None)
            record.tenant = schema if schema and schema != "public" else "-"
        return True


class RequestLogMiddleware:
    """Outermost middleware: times the whole request, logs it, counts it for /metrics."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        duration = time.perf_counter() - started
        response["X-Request-ID"] = request_id
        self._record(request, response, duration, request_id)
        return response

    def _record(
        self, request: HttpRequest, response: HttpResponse, duration: float, request_id: str
    ) -> None:
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else "unrouted"
        metrics.observe_request(
            view=view, method=request.method, status=response.status_code, duration=duration
        )
        tenant = getattr(getattr(request, "tenant", None), "schema_name", "-")
        fields: dict[str, Any] = {
            "request_id": request_id,
            "tenant": tenant,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(duration * 1000, 2),
            "cache": response.get("X-Cache", "-"),
            "view": view,
        }
        logger.info(
            "%s %s %s %.1fms tenant=%s cache=%s",
            request.method,
            request.path,
            response.status_code,
            duration * 1000,
            tenant,
            fields["cache"],
            extra=fields,
        )
