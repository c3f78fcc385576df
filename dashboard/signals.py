"""Receivers: a saved or deleted record invalidates its tenant's affected dashboard entries."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from applications.models import Application, ApplicationHealthScore
from changes.models import Change
from dashboard.entries import CHANGES, HEALTH, ISSUES, REQUESTS
from firelater.cache.invalidation import category_of, schedule_invalidation, watch_model
from issues.models import Issue
from requests_app.models import Request

WATCHED = {
    Issue: ISSUES,
    Request: REQUESTS,
    Change: CHANGES,
    Application: HEALTH,
    ApplicationHealthScore: HEALTH,
}


def record_saved(*, sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    changed = None if created else instance.changed_fields()
    schedule_invalidation(category_of(sender), changed)  # type: ignore[arg-type]
    instance.remember_saved_values()


def record_deleted(*, sender: Any, instance: Any, **kwargs: Any) -> None:
    schedule_invalidation(category_of(sender))  # type: ignore[arg-type]


def connect() -> None:
    for model, category in WATCHED.items():
        watch_model(model, category)
        name = model._meta.label_lower
        post_save.connect(record_saved, sender=model, dispatch_uid=f"cache-save-{name}")
        post_delete.connect(record_deleted, sender=model, dispatch_uid=f"cache-delete-{name}")
