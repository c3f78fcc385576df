"""OpenAPI generation: drf-spectacular's AutoSchema plus the error answers every view gives.

drf-spectacular documents only the success response of a view. FireLater answers errors
with JSON from a few well-known places (DRF's exception handler and firelater.api,
the tenant middleware, the body-size middleware, throttling), so which error statuses an
operation can return follows from the view and the operation: documenting them here keeps
the schema truthful for every endpoint, present and future (tests/security/test_fuzz_api.py
holds the API to it). Explicit `extend_schema(responses=...)` entries win over these.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# Field errors: {"title": ["This field is required."], "nonFieldErrors": [...]}, nested
# for nested input; a malformed body gets {"detail": "..."} instead.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Field name (camelCase) to a list of messages, or a `detail` message.",
    "additionalProperties": True,
}


def _authenticates(view: Any) -> bool:
    # Not only views that require a login: DRF refuses a bad token (401) before any view.
    return bool(getattr(view, "authentication_classes", ()))


def _staff_only(view: Any) -> bool:
    return permissions.IsAdminUser in getattr(view, "permission_classes", ())


def _uses_session(view: Any) -> bool:
    return any(
        issubclass(cls, SessionAuthentication)
        for cls in getattr(view, "authentication_classes", ())
    )


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code, response in self._error_responses(operation).items():
            responses.setdefault(str(code), response)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_responses(self, operation: dict[str, Any]) -> dict[int, dict[str, Any]]:
        error = self._json(self.resolve_serializer(ErrorSerializer, "response").ref)
        has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
        errors: dict[int, dict[str, Any]] = {
            404: {"description": "Not found, or an unknown host.", **error},
            503: {"description": "The database is unavailable; try again.", **error},
        }
        if self.method in BODY_METHODS or has_query:
            errors[400] = {
                "description": "Invalid input (field errors), or a malformed body.",
                **self._json(VALIDATION_ERROR_SCHEMA),
            }
        if _authenticates(self.view):
            errors[401] = {"description": "Not authenticated, or an invalid token.", **error}
        if _staff_only(self.view):
            errors[403] = {"description": "Not staff of this tenant.", **error}
        elif self.method in WRITE_METHODS and _uses_session(self.view):
            errors[403] = {"description": "Session write without a valid CSRF token.", **error}
        if self.method in WRITE_METHODS:
            errors[409] = {"description": "The data conflicts with a constraint.", **error}
        if self.method in BODY_METHODS:
            errors[413] = {"description": "Request body too large.", **error}
            errors[415] = {"description": "Unsupported body media type.", **error}
        if getattr(self.view, "throttle_classes", ()):
            errors[429] = {"description": "Too many requests; see Retry-After.", **error}
        return errors

    @staticmethod
    def _json(schema: dict[str, Any]) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": schema}}}
