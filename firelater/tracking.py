"""Neutral change tracking for models: what a save changed, and a signal for bulk writes.

Domain models use these without knowing who listens (the cache does: tenant_cache watches
models whose queryset names a `bulk_write_signal` and asks saved instances for
`changed_fields()`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.dispatch import Signal

# Sent after a QuerySet.update/bulk_create/bulk_update/delete that touched rows; these send
# no post_save/post_delete. Arguments: sender (the model), fields (attnames the write set,
# or None for "any": a create or delete).
bulk_write = Signal()


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


class BulkWriteQuerySet(models.QuerySet[Any]):
    """A QuerySet whose bulk writes send `bulk_write` (they send no post_save signal)."""

    bulk_write_signal = bulk_write

    def _announce(self, fields: Iterable[str] | None) -> None:
        if fields is not None:
            fields = frozenset(self.model._meta.get_field(name).attname for name in fields)
        bulk_write.send(sender=self.model, fields=fields)

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            self._announce(kwargs)
        return count

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        count = super().bulk_update(objs, fields, batch_size=batch_size)
        if count:
            self._announce(fields)
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            self._announce(None)
        return created

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        if deleted[0]:
            self._announce(None)
        return deleted
