"""The tenants the cache serves, read through django-tenants' configured tenant model."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name, get_tenant_model


def tenant_queryset(*, active_only: bool = False) -> QuerySet[Any]:
    """Every tenant but the public schema's, by schema name; `active_only` keeps those whose
    model has no `is_active` field or has it set."""
    model = get_tenant_model()
    tenants = model.objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name")
    if active_only and any(f.name == "is_active" for f in model._meta.get_fields()):
        tenants = tenants.filter(is_active=True)
    return tenants  # type: ignore[no-any-return]  # django-tenants is untyped
