"""System checks: a declaration that would silently leave an entry stale is an error.

- tenant_cache.E001: an entry's field list names a field the watched model lacks (a
  renamed field would stop invalidating the entry).
- tenant_cache.E002: a watched model's default manager does not signal bulk writes
  (QuerySet.update/bulk_create/bulk_update/delete would invalidate nothing).
- tenant_cache.E003: an entry depends on a data category that no watched model writes.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import models

from tenant_cache.receivers import bulk_write_signal, watched_models
from tenant_cache.registry import registry


def _attnames(model: type[models.Model]) -> set[str]:
    return {f.attname for f in model._meta.concrete_fields}


@checks.register()
def check_entry_fields(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    models_by_category: dict[str, list[type[models.Model]]] = {}
    for model, data_category in watched_models().items():
        models_by_category.setdefault(data_category, []).append(model)
    errors: list[checks.CheckMessage] = []
    for entry in registry:
        for data_category in sorted(entry.depends_on):
            if data_category not in models_by_category:
                errors.append(
                    checks.Error(
                        f"Cache entry {entry.id} depends on {data_category!r}, "
                        "which no watched model writes.",
                        hint="Call tenant_cache.watch(Model, data_category) in an AppConfig.",
                        id="tenant_cache.E003",
                    )
                )
                continue
            known = set().union(*(_attnames(m) for m in models_by_category[data_category]))
            for name in sorted(entry.fields.get(data_category, frozenset()) - known):
                errors.append(
                    checks.Error(
                        f"Cache entry {entry.id} lists field {name!r} of {data_category!r}, "
                        "but no watched model of that data category has it.",
                        hint="Field lists name attnames (application_id, not application).",
                        id="tenant_cache.E001",
                    )
                )
    return errors


@checks.register()
def check_bulk_writes_signal(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f"{model._meta.label} is watched by the cache, but its default manager's "
            "queryset does not signal bulk writes: update, bulk_create, bulk_update and "
            "queryset delete would leave entries stale.",
            hint="Give its queryset a `bulk_write_signal` Signal, sent after each bulk write.",
            obj=model,
            id="tenant_cache.E002",
        )
        for model in watched_models()
        if bulk_write_signal(model) is None
    ]
