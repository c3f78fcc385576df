"""Request guards that must run before any view reads the body or the query string."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class TerminatedInputMiddleware:
    """WSGI middleware: hand Django a body that came without a Content-Length (chunked).

    Django reads CONTENT_LENGTH bytes of wsgi.input and takes a missing length for an
    empty body. gunicorn de-chunks a `Transfer-Encoding: chunked` body and says the stream
    ends where the body does (wsgi.input_terminated), but sets no CONTENT_LENGTH: a chunked
    JSON POST was read as {} (and answered as if no field had been sent). Such a body is
    read here, at most DATA_UPLOAD_MAX_MEMORY_SIZE + 1 bytes, and passed on with its
    length, so BodySizeLimitMiddleware answers a larger one with its JSON 413.
    """

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = _read_up_to(environ["wsgi.input"], None if limit is None else limit + 1)
            if body:
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)


def _read_up_to(stream: Any, size: int | None) -> bytes:
    chunks, read = [], 0
    while size is None or read < size:
        chunk = stream.read(65536 if size is None else min(65536, size - read))
        if not chunk:
            break
        chunks.append(chunk)
        read += len(chunk)
    return b"".join(chunks)


class BodySizeLimitMiddleware:
    """Refuse bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with a JSON 413.

    Django enforces the limit only when ``request.body`` is read; DRF's parsers read the
    stream directly, so without this a JSON body of any size would be parsed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
            if length > limit:
                return JsonResponse(
                    {"detail": f"Request body too large (limit {limit} bytes)."}, status=413
                )
        return self.get_response(request)


class NulQueryStringMiddleware:
    """Refuse a query string holding a NUL character with a JSON 400, on every path.

    PostgreSQL text cannot contain NUL: a parameter that reached a query with one (an admin
    list filter, the admin's autocomplete, a list filter on a text field) failed in the
    database with a DataError, a 500. No legitimate parameter holds one, and refusing it
    here covers every view, present and future, including Django's own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        # %00 is the only escape that decodes to NUL (the raw string needs no decoding).
        if "%00" in query or "\x00" in query:
            return JsonResponse(
                {"detail": "Query parameters must not contain NUL characters (%00)."}, status=400
            )
        return self.get_response(request)
