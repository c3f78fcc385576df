"""Shared DRF pieces: pagination, strict ordering, and JSON errors for every failure."""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, pagination
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class StrictOrderingFilter(OrderingFilter):
    """Ordering limited to the view's whitelist; an unknown field is a 400, not ignored.

    Accepts camelCase (as the JSON keys are) or snake_case names.
    """

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        raw = request.query_params.get(self.ordering_param)
        if not raw:
            return self.get_default_ordering(view)
        allowed = {
            name for name, _label in self.get_valid_fields(queryset, view, {"request": request})
        }
        ordering = []
        for term in (t.strip() for t in raw.split(",")):
            if not term:
                continue
            sign = "-" if term.startswith("-") else ""
            field = _snake(term.lstrip("-"))
            if field not in allowed:
                raise exceptions.ValidationError(
                    {
                        self.ordering_param: [
                            f"Unknown ordering field {term!r}. Allowed: "
                            f"{', '.join(sorted(allowed))}."
                        ]
                    }
                )
            ordering.append(sign + field)
        return ordering or self.get_default_ordering(view)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler plus JSON answers for errors DRF leaves to Django's HTML pages."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Request body too large."}, status=413)
    if isinstance(exc, ValidationError):
        # Model validation inside a service (full_clean): same shape as serializer errors.
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=400)
    if isinstance(exc, IntegrityError):
        # Validation should have caught it; a constraint is the last line of defence.
        logger.warning("Integrity error on write", exc_info=exc)
        return Response({"detail": "The data conflicts with a database constraint."}, status=409)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("Database unavailable", exc_info=exc)
        return Response({"detail": "The database is unavailable; try again."}, status=503)
    if isinstance(exc, DatabaseError):
        logger.error("Database error", exc_info=exc)
        return Response({"detail": "Database error."}, status=500)
    if isinstance(exc, SuspiciousOperation):
        return Response({"detail": "Bad request."}, status=400)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A bare list of messages (e.g. from a filter backend): always an object body.
        response.data = {"detail": response.data}
    return response


# --- Django-level handlers (URLs outside DRF, unknown paths, crashes) -------------------------


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": "Request body too large."}, status=413)
    return JsonResponse({"detail": "Bad request."}, status=400)


def json_permission_denied(
    request: HttpRequest, exception: PermissionDenied | None = None
) -> JsonResponse:
    return JsonResponse(
        {"detail": "You do not have permission to perform this action."}, status=403
    )


def json_not_found(request: HttpRequest, exception: Http404 | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this inside its `except` block, so the exception is still at hand.
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        return JsonResponse({"detail": "The database is unavailable; try again."}, status=503)
    return JsonResponse({"detail": "Internal server error."}, status=500)
