"""Number and time formatting for the dashboard templates (mirrored by dashboard.js)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def number(value: int | None) -> str:
    """1234567 -> '1,234,567' (what the refresh script's Intl.NumberFormat writes)."""
    if value is None:
        return "0"
    return f"{int(value):,}"


@register.filter
def ago(moment: dt.datetime | None) -> str:
    """A short relative time: 'just now', '5 min ago', '3 h ago', '2 d ago'."""
    if not isinstance(moment, dt.datetime):  # e.g. the empty <template> row
        return ""
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"
