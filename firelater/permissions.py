"""The API's default permission: Django model permissions, reads included, fail closed.

Set as DEFAULT_PERMISSION_CLASSES, so every DRF view is covered without code of its own,
including viewsets added later: a view over a queryset needs the model permission of its
method (GET/HEAD: view, POST: add, PUT/PATCH: change, DELETE: delete); a view without one
names what it needs in `required_permissions`; a view with neither is refused. A denial is
a JSON 403 saying which permissions the role lacks.
"""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


class RolePermissions(permissions.DjangoModelPermissions):
    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False  # DRF answers 401 (with WWW-Authenticate) for an anonymous client
        required = self.required_permissions_of(request, view)
        if required is None:
            self.message = {"detail": "This endpoint declares no permission; nobody may use it."}
            return False
        missing = sorted(perm for perm in required if not user.has_perm(perm))
        if missing:
            self.message = {
                "detail": (
                    f"Your role may not {request.method} this endpoint: it needs "
                    f"{', '.join(missing)}."
                ),
                "required_permissions": missing,
            }
        return not missing

    def required_permissions_of(self, request: Request, view: Any) -> list[str] | None:
        """The permissions `request` needs on `view`; None when the view names none."""
        declared = getattr(view, "required_permissions", None)
        if declared is not None:
            return list(declared)
        model = getattr(view, "permission_model", None)
        if model is None and (
            getattr(view, "queryset", None) is not None or hasattr(view, "get_queryset")
        ):
            model = self._queryset(view).model
        if model is None:
            return None
        return self.get_required_permissions(request.method or "GET", model)


class PermissionModelMixin:
    """For a viewset whose action works on another model than its queryset's (an
    application's health scores): `@action(..., permission_model=Model)`."""

    permission_model: Any = None
