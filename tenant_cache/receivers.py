"""Writes -> invalidation: `watch(model, data_category)` and the receivers it connects.

A saved, deleted or bulk-written row of a watched model schedules, with
`transaction.on_commit(robust=True)`, the invalidation of its tenant's entries that read
the fields it changed: the tenant is captured now (the connection's schema), a rolled-back
write invalidates nothing, and a cache failure can never fail a commit.

What a model offers decides how precise that is:
- `changed_fields()` on the instance (attnames, or None when unknown) narrows a save to
  the entries that read those fields; without it every dependent entry is dropped.
- A default manager whose queryset has a `bulk_write_signal` (a Signal sent with
  `sender=model, fields=attnames | None` after update/bulk_create/bulk_update/delete)
  makes bulk writes invalidate too; tenant_cache.checks refuses a watched model without.

The tenant model (django-tenants' TENANT_MODEL) is watched too: deleting a tenant purges
its keys on commit, and a new tenant is refused while keys of a former tenant of its name
remain (connect_tenant_model, called by the app's ready()).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import Signal
from django_tenants.utils import get_public_schema_name, get_tenant_model

from tenant_cache.invalidation import invalidate_after_write, key_space_refusal, purge_tenant
from tenant_cache.registry import registry
from tenant_cache.session import current_actor

# Which data category each watched model's writes belong to.
_WATCHED: dict[type[models.Model], str] = {}


def watch(model: type[models.Model], data_category: str) -> None:
    """Invalidate the entries that depend on `data_category` when `model` is written."""
    _WATCHED[model] = data_category
    name = model._meta.label_lower
    post_save.connect(_record_saved, sender=model, dispatch_uid=f"tenant-cache-save-{name}")
    post_delete.connect(_record_deleted, sender=model, dispatch_uid=f"tenant-cache-del-{name}")
    signal = bulk_write_signal(model)
    if signal is not None:
        signal.connect(_record_bulk_write, sender=model, dispatch_uid=f"tenant-cache-bulk-{name}")


def unwatch(model: type[models.Model]) -> None:
    """Undo watch(model) (tests; a project that stops caching a model)."""
    _WATCHED.pop(model, None)
    name = model._meta.label_lower
    post_save.disconnect(sender=model, dispatch_uid=f"tenant-cache-save-{name}")
    post_delete.disconnect(sender=model, dispatch_uid=f"tenant-cache-del-{name}")
    signal = bulk_write_signal(model)
    if signal is not None:
        signal.disconnect(sender=model, dispatch_uid=f"tenant-cache-bulk-{name}")


def watched_models() -> dict[type[models.Model], str]:
    return dict(_WATCHED)


def bulk_write_signal(model: type[models.Model]) -> Signal | None:
    """The signal the model's default manager's queryset sends after bulk writes, if any."""
    queryset = model._default_manager.get_queryset()
    signal = getattr(queryset, "bulk_write_signal", None)
    return signal if isinstance(signal, Signal) else None


def _record_saved(*, sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    changed = getattr(instance, "changed_fields", None)
    schedule_invalidation(_WATCHED[sender], None if created or changed is None else changed())
    remember = getattr(instance, "remember_saved_values", None)
    if remember is not None:
        remember()  # a second save of the same instance compares with this one


def _record_deleted(*, sender: Any, **kwargs: Any) -> None:
    schedule_invalidation(_WATCHED[sender])


def _record_bulk_write(*, sender: Any, fields: Iterable[str] | None = None, **kwargs: Any) -> None:
    schedule_invalidation(_WATCHED[sender], fields)


@dataclass
class _InvalidateOnCommit:
    """The on_commit callback; comparable, so one transaction schedules each set once."""

    schema: str
    entry_ids: tuple[str, ...]
    actor: str | None = None  # the writing user (read-your-writes), captured now
    ran: bool = field(default=False, compare=False)

    def __call__(self) -> None:
        self.ran = True
        invalidate_after_write(self.schema, self.entry_ids, self.actor)


def schedule_invalidation(data_category: str, changed_fields: Iterable[str] | None = None) -> None:
    """After the current transaction commits, drop this tenant's entries that read
    `changed_fields` (None: any field, e.g. a create or delete) of `data_category`."""
    schema = getattr(connection, "schema_name", None)
    if not schema or schema == get_public_schema_name():
        return
    fields = None if changed_fields is None else frozenset(changed_fields)
    entries = registry.affected(data_category, fields)
    if not entries:
        return
    callback = _InvalidateOnCommit(schema, tuple(sorted(e.id for e in entries)), current_actor())
    if connection.in_atomic_block:
        savepoints = set(connection.savepoint_ids)
        # Django keeps (savepoint ids, callback, robust) triples; the stubs say pairs.
        for pending_savepoints, pending, _robust in connection.run_on_commit:  # type: ignore[misc]
            if pending == callback and pending_savepoints == savepoints and not pending.ran:
                return  # a bulk delete fires one signal per row: schedule once
    transaction.on_commit(callback, robust=True)


# --- Tenants themselves --------------------------------------------------------------------


def connect_tenant_model() -> None:
    """Purge a deleted tenant's keys (any delete: instance, queryset, admin bulk action) and
    a deactivated one's (a save setting `is_active` false, if the model has the field), and
    refuse to create a tenant whose name still has keys of a former one."""
    model = get_tenant_model()
    post_delete.connect(_purge_deleted_tenant, sender=model, dispatch_uid="tenant-cache-purge")
    if any(f.name == "is_active" for f in model._meta.get_fields()):
        post_save.connect(
            _purge_deactivated_tenant, sender=model, dispatch_uid="tenant-cache-purge-inactive"
        )
    pre_save.connect(_refuse_a_used_key_space, sender=model, dispatch_uid="tenant-cache-claim")


def _schema_of(tenant: Any) -> str | None:
    schema = getattr(tenant, "schema_name", None)
    return schema if schema and schema != get_public_schema_name() else None


def _purge_deleted_tenant(*, instance: Any, **kwargs: Any) -> None:
    schema = _schema_of(instance)
    if schema is not None:  # once the delete is committed; a rollback keeps the tenant
        transaction.on_commit(partial(purge_tenant, schema), robust=True)


def _purge_deactivated_tenant(
    *,
    instance: Any,
    created: bool,
    update_fields: Iterable[str] | None = None,
    raw: bool = False,
    **kwargs: Any,
) -> None:
    """A tenant saved inactive loses its keys and its deferred invalidations on commit,
    as a deleted one does (its hosts no longer route; reactivated, it starts cold). A
    save that did not make it inactive (it already was: `changed_fields()`, if the model
    has it, or `update_fields` without is_active) purges nothing."""
    schema = _schema_of(instance)
    if schema is None or raw:
        return
    changed = getattr(instance, "changed_fields", None)
    fields = changed() if changed is not None else None
    remember_saved_values = getattr(instance, "remember_saved_values", None)
    if remember_saved_values is not None:
        remember_saved_values()  # a later save of the same instance compares with this one
    if created or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    if fields is None or "is_active" in fields:
        transaction.on_commit(partial(purge_tenant, schema), robust=True)


def _refuse_a_used_key_space(*, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    schema = _schema_of(instance)
    if raw or schema is None or not instance._state.adding:
        return
    refusal = key_space_refusal(schema)
    if refusal is not None:
        raise ValidationError(refusal, code="cache_keys_left")
