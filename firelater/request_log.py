"""One log line per request (JSON with LOG_FORMAT=json) and a request id on every record.

The id is taken from a sane incoming X-Request-ID or made here, returned as X-Request-ID,
and attached (with the tenant) to every log record written while the request runs. The
plain format escapes control characters, so a client's path or method cannot forge a line.
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


# Everything a log reader could take for a line break or a terminal command: C0 controls,
# DEL, C1 controls (NEL among them), Unicode's line and paragraph separators; and the
# backslash, so that an escape in the log always means an escaped character.
_UNSAFE_IN_LOG = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def escape_for_log(text: str) -> str:
    """`text` on one line: control characters and backslashes as backslash escapes."""
    return _UNSAFE_IN_LOG.sub(_escape, text)


class PlainFormatter(logging.Formatter):
    """The plain text format, one line per record whatever its text holds (issue #18.7).

    The record's line is escaped (escape_for_log), so every line that starts in column 0 is
    a record; a traceback or stack follows on lines indented by four spaces.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_for_log(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join(f"    {escape_for_log(line)}" for line in text.split("\n"))


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
