"""Helpers shared by the apps' write services."""

from __future__ import annotations

from typing import Any

from django.db import models


def apply_changes(instance: models.Model, data: dict[str, Any]) -> set[str]:
    """Set the given fields on the instance; return the names whose value really changed."""
    changed: set[str] = set()
    for field, value in data.items():
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.add(field)
    return changed
