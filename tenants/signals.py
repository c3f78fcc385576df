"""Receivers that keep the in-process host -> tenant lookup cache honest."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from tenants.middleware import flush_tenant_lookup_cache
from tenants.models import Domain, Tenant


def _flush(**kwargs: Any) -> None:
    flush_tenant_lookup_cache()


for _model in (Tenant, Domain):
    post_save.connect(
        _flush, sender=_model, dispatch_uid=f"tenant-lookup-flush-save-{_model.__name__}"
    )
    post_delete.connect(
        _flush, sender=_model, dispatch_uid=f"tenant-lookup-flush-delete-{_model.__name__}"
    )
