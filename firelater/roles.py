"""The roles of a tenant: Django groups in its schema, each a set of model permissions.

A role is a group whose permissions are declared here, as `app_label.codename` patterns
matched against the permissions that exist in the schema (so a model added later gets
the permissions its app's patterns name, e.g. every agent may view a new model of a
domain app). `roles_ensure()` creates the groups and sets their permissions exactly,
idempotently; it runs after every `migrate` of a tenant schema (old and new tenants
alike), and from `add_tenant`, the platform admin (both create the schema through migrate)
and `seed_demo`. Permissions are enforced the standard way: DRF's model permissions
(firelater.permissions, every API view), the Django admin's, and the object rules of
the selectors where "their own" matters (a requester sees the issues they reported and the
requests they requested).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name

REQUESTER = "requester"
AGENT = "agent"
CHANGE_MANAGER = "change manager"
TENANT_ADMIN = "tenant admin"

# The record apps whose every model an agent may view.
DOMAIN_APPS = ("applications", "issues", "requests_app", "changes", "cloud")

_AGENT = [
    *(f"{app}.view_*" for app in DOMAIN_APPS),
    "issues.add_issue",
    "issues.change_issue",
    "requests_app.add_request",
    "requests_app.change_request",
    "changes.add_change",
    "changes.change_change",  # but not into approved, rejected or scheduled (changes.approval)
    "dashboard.view_dashboard",
]

ROLE_PERMISSIONS: Mapping[str, tuple[str, ...]] = {
    # Files issues and requests and sees their own (selectors scope the lists); may read
    # the request catalogue to choose from it.
    REQUESTER: (
        "issues.add_issue",
        "issues.view_issue",
        "requests_app.add_request",
        "requests_app.view_*",
    ),
    # Reads and works every issue and request, drafts changes, reads the dashboard.
    AGENT: tuple(_AGENT),
    # An agent who also approves, rejects and schedules changes.
    CHANGE_MANAGER: (*_AGENT, "changes.approve_change"),
    # Everything in the tenant: deletes, users and roles, the cache admin.
    TENANT_ADMIN: ("*",),
}

ROLES = tuple(ROLE_PERMISSIONS)
# Roles that may use the Django admin (it still shows only what their permissions allow).
STAFF_ROLES = frozenset({AGENT, CHANGE_MANAGER, TENANT_ADMIN})


def _label(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def role_permissions(role: str, available: Iterable[Permission]) -> list[Permission]:
    """The permissions of `available` that the role's patterns name."""
    patterns = ROLE_PERMISSIONS[role]
    return [p for p in available if any(fnmatchcase(_label(p), pat) for pat in patterns)]


@transaction.atomic
def roles_ensure() -> dict[str, Group]:
    """Create this schema's role groups and set each one's permissions to exactly its
    declaration (idempotent: a second run writes nothing)."""
    available = list(Permission.objects.select_related("content_type"))
    groups = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(role_permissions(role, available))
        groups[role] = group
    return groups


@transaction.atomic
def user_roles_set(*, user: Any, roles: Iterable[str]) -> None:
    """Give the user exactly these roles; staff (the admin) follows from them. Removing a
    role ends the user's tokens (a trigger, firelater/migrations/0002)."""
    roles = list(roles)
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"Unknown role(s): {', '.join(unknown)}. Roles: {', '.join(ROLES)}.")
    groups = {group.name: group for group in Group.objects.filter(name__in=roles)}
    if len(groups) < len(set(roles)):  # a schema that predates its roles: make them now
        groups = roles_ensure()
    user.groups.set([groups[role] for role in roles])
    is_staff = bool(STAFF_ROLES & set(roles)) or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


def user_roles(user: Any) -> list[str]:
    return sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))


def ensure_roles_after_migrate(*, sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: once per migrate of a tenant schema, after every app's permissions
    exist (Django creates them per app, in app order: this acts on the last app's signal)."""
    last = [config for config in global_apps.get_app_configs() if config.models_module][-1]
    if sender is not last or connection.schema_name == get_public_schema_name():
        return
    roles_ensure()
