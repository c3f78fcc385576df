"""Number and time formatting for the dashboard templates (mirrored by dashboard.js)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from dashboard.charts import svg_coordinate

register = template.Library()


@register.filter
def number(value: int | str | None) -> str:
    """1234567 -> '1,234,567' (what the refresh script's Intl.NumberFormat writes)."""
    if value is None or value == "":  # "": the empty <template> row
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


@register.filter
def rate(value: float | str | None) -> str:
    """A percentage with one decimal, or a dash when there was nothing to rate."""
    if value is None or value == "":
        return "\u2013"  # an en dash
    return f"{float(value):.1f} %"


@register.filter
def money(value: str | None) -> str:
    """'12345.50' -> '12,345.50' (the decimal string as it came, grouped)."""
    if not value:
        return ""
    whole, _, cents = str(value).partition(".")
    return f"{int(whole):,}.{cents or '00'}"


@register.filter
def svg_number(value: float | str | None) -> str:
    """A coordinate as the refresh script writes it (100, not 100.0; 0 when none)."""
    if value is None or value == "":
        return "0"
    return svg_coordinate(float(value))
