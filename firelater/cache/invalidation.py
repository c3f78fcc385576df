"""Write -> invalidation plumbing: which fields changed, and on_commit scheduling.

Receivers (dashboard/signals.py) and the bulk QuerySet call `schedule_invalidation`. It
captures the tenant now (the connection's schema), works out the affected entries from
the registry, and defers the Redis work to `transaction.on_commit(robust=True)`: a
rolled-back write invalidates nothing, and a cache failure can never fail a commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django_tenants.utils import get_public_schema_name

from firelater.cache.core import invalidate_entries
from firelater.cache.registry import registry

# Which data category each model's writes belong to (declared by the dashboard's signals).
_CATEGORY_BY_MODEL: dict[type[models.Model], str] = {}


def watch_model(model: type[models.Model], category: str) -> None:
    _CATEGORY_BY_MODEL[model] = category


def category_of(model: type[models.Model]) -> str | None:
    return _CATEGORY_BY_MODEL.get(model)


@dataclass
class _InvalidateOnCommit:
    """The on_commit callback; comparable, so one transaction schedules each set once."""

    schema: str
    entry_ids: tuple[str, ...]
    ran: bool = field(default=False, compare=False)

    def __call__(self) -> None:
        self.ran = True
        invalidate_entries(self.schema, self.entry_ids)


def schedule_invalidation(category: str, changed_fields: Iterable[str] | None = None) -> None:
    """After the current transaction commits, drop this tenant's entries that read
    `changed_fields` (None: any field, e.g. a create or delete) of `category`."""
    schema = getattr(connection, "schema_name", None)
    if not schema or schema == get_public_schema_name():
        return
    fields = None if changed_fields is None else frozenset(changed_fields)
    entries = registry.affected(category, fields)
    if not entries:
        return
    callback = _InvalidateOnCommit(schema, tuple(sorted(e.id for e in entries)))
    if connection.in_atomic_block:
        savepoints = set(connection.savepoint_ids)
        # Django keeps (savepoint ids, callback, robust) triples; the stubs say pairs.
        for pending_savepoints, pending, _robust in connection.run_on_commit:  # type: ignore[misc]
            if pending == callback and pending_savepoints == savepoints and not pending.ran:
                return  # a bulk delete fires one signal per row: schedule once
    transaction.on_commit(callback, robust=True)


class TracksLoadedValues(models.Model):
    """Remembers the values a row had when loaded, so a save can tell what changed."""

    _loaded_values: dict[str, Any] | None

    class Meta:
        abstract = True

    @classmethod
    def from_db(  # type: ignore[override]  # the stubs follow Django 6's signature
        cls, db: str | None, field_names: Any, values: Any
    ) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._loaded_values = dict(zip(field_names, values, strict=True))
        return instance

    def changed_fields(self) -> frozenset[str] | None:
        """Attnames that differ from the loaded row; None when that is unknown."""
        loaded = getattr(self, "_loaded_values", None)
        if loaded is None:
            return None
        concrete = self._meta.concrete_fields
        if any(f.attname not in loaded for f in concrete):
            return None  # deferred fields: we cannot tell
        return frozenset(
            f.attname for f in concrete if getattr(self, f.attname) != loaded[f.attname]
        )

    def remember_saved_values(self) -> None:
        self._loaded_values = {
            f.attname: getattr(self, f.attname) for f in self._meta.concrete_fields
        }


class InvalidatingQuerySet(models.QuerySet[Any]):
    """Bulk writes invalidate like single saves (they send no post_save signal)."""

    def _schedule(self, fields: Iterable[str] | None) -> None:
        category = category_of(self.model)
        if category is not None:
            if fields is not None:
                fields = {self.model._meta.get_field(name).attname for name in fields}
            schedule_invalidation(category, fields)

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            self._schedule(kwargs)
        return count

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        count = super().bulk_update(objs, fields, batch_size=batch_size)
        if count:
            self._schedule(fields)
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            self._schedule(None)
        return created

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        if deleted[0]:
            self._schedule(None)
        return deleted
