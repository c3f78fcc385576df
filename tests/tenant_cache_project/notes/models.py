from typing import Any

from django.db import models
from django.dispatch import Signal

# This project's own bulk-write signal: tenant_cache finds it through the queryset.
notes_bulk_written = Signal()


class NoteQuerySet(models.QuerySet):
    bulk_write_signal = notes_bulk_written

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        notes_bulk_written.send(sender=self.model, fields=set(kwargs))
        return count

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        notes_bulk_written.send(sender=self.model, fields=None)
        return created

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        notes_bulk_written.send(sender=self.model, fields=None)
        return deleted


class Note(models.Model):
    text = models.CharField(max_length=200)
    pinned = models.BooleanField(default=False)

    objects = NoteQuerySet.as_manager()

    def __str__(self) -> str:
        return self.text
