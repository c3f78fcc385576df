"""Request guards that must run before any view reads the body or the query string."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


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
