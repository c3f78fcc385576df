"""Shared DRF pieces: pagination, strict query parameters and ordering, JSON errors for every
failure."""

from __future__ import annotations

import contextlib
import logging
import re
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
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework import exceptions, pagination
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import _positive_int
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def camel_case(name: str) -> str:
    """A snake_case name as the API's JSON spells it (created_after: createdAfter)."""
    return re.sub(camelize_re, underscore_to_camel, name)


def accepted_query_parameters(view: Any) -> set[str]:
    """Every query parameter a list view reads: `format`, its filter backends' and its
    paginator's, each by its own name and in camelCase.

    From the same declarations the view runs on (filterset, ordering, search, page), so
    what is accepted is what is applied.
    """
    names = {api_settings.URL_FORMAT_OVERRIDE} if api_settings.URL_FORMAT_OVERRIDE else set()
    for backend_class in view.filter_backends:
        backend = backend_class()
        if hasattr(backend, "query_parameter_names"):
            names |= backend.query_parameter_names(view)
        else:  # DRF's own backends declare theirs for the schema
            names |= {p["name"] for p in backend.get_schema_operation_parameters(view)}
    if view.paginator is not None:
        names |= {p["name"] for p in view.paginator.get_schema_operation_parameters(view)}
    return names | {camel_case(name) for name in names}


def reject_unknown_query_parameters(request: Request, view: Any) -> None:
    """A 400 naming any parameter the view would not read: ignored, it returns data the
    client did not ask for (a misspelt filter gives the unfiltered list)."""
    accepted = accepted_query_parameters(view)
    unknown = sorted(set(request.query_params) - accepted)
    if not unknown:
        return
    allowed = sorted({camel_case(name) for name in accepted})
    raise exceptions.ValidationError(
        {
            "detail": (
                f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(unknown)}. Allowed (camelCase or snake_case): "
                f"{', '.join(allowed)}."
            ),
            "unknown_parameters": unknown,
            "allowed_parameters": allowed,
        }
    )


class PageNumberPagination(pagination.PageNumberPagination):
    """Pages of `page_size` (or `pageSize`) up to 100; every list passes through it, so it
    is where a list refuses query parameters it does not read."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        if view is not None:
            reject_unknown_query_parameters(request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Request) -> int | None:
        for name in (self.page_size_query_param, camel_case(self.page_size_query_param)):
            if name in request.query_params:
                with contextlib.suppress(ValueError):
                    return _positive_int(
                        request.query_params[name], strict=True, cutoff=self.max_page_size
                    )
        return self.page_size


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
    # A page's PermissionDenied("...") says why; a bare one gets the general message.
    detail = str(exception or "") or "You do not have permission to perform this action."
    return JsonResponse({"detail": detail}, status=403)


def json_not_found(request: HttpRequest, exception: Http404 | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this inside its `except` block, so the exception is still at hand.
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)):
        return JsonResponse({"detail": "The database is unavailable; try again."}, status=503)
    return JsonResponse({"detail": "Internal server error."}, status=500)
