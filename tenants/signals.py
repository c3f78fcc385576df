"""Receivers: the in-process host -> tenant lookup cache stays honest, and a deleted tenant
leaves nothing behind that a new tenant of its name could inherit."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_tenants.utils import schema_context

from firelater.authentication import forget_cached_tokens
from tenants.middleware import flush_tenant_lookup_cache
from tenants.models import Domain, Tenant
from tenants.schemas import schema_archive


def _flush(**kwargs: Any) -> None:
    flush_tenant_lookup_cache()


def _archive_deleted_tenant(*, instance: Tenant, **kwargs: Any) -> None:
    """Any delete (admin, bulk action, queryset, instance): the schema is renamed in the
    deleting transaction; once it commits, this process forgets the tenant's host and
    tokens and Django's cache its keys (throttling). The cache purges its own keys
    (tenant_cache listens to the tenant model)."""
    if instance.is_public:
        return
    schema_archive(instance.schema_name)
    transaction.on_commit(partial(_forget_deleted_tenant, instance.schema_name), robust=True)


def _forget_deleted_tenant(schema: str) -> None:
    flush_tenant_lookup_cache()
    forget_cached_tokens()
    with schema_context(schema):  # django_tenants.cache.make_key prefixes the schema
        cache.delete_pattern("*")


for _model in (Tenant, Domain):
    post_save.connect(
        _flush, sender=_model, dispatch_uid=f"tenant-lookup-flush-save-{_model.__name__}"
    )
    post_delete.connect(
        _flush, sender=_model, dispatch_uid=f"tenant-lookup-flush-delete-{_model.__name__}"
    )
post_delete.connect(_archive_deleted_tenant, sender=Tenant, dispatch_uid="tenant-archive-schema")
