"""Chart geometry for the dashboard's server-side SVG and bar lists (no chart library).

The trend chart's viewBox is (days - 1) wide and `top` high, so a day's point is simply
(index, top - count); static/dashboard/dashboard.js redraws it the same way on refresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

TICKS = 4  # horizontal grid lines above zero (dashboard.css places the five labels)


def nice_top(peak: int) -> int:
    """The smallest 'round' axis maximum >= peak that splits into TICKS whole steps."""
    needed = max(peak, 1) / TICKS
    magnitude = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            step = factor * magnitude
            if step >= needed and float(step).is_integer():
                return int(step) * TICKS
        magnitude *= 10


def _points(values: Sequence[int], top: int) -> str:
    return " ".join(f"{index},{top - value}" for index, value in enumerate(values))


def _short_date(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def trend_chart(points: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Polyline points, axis labels, totals and a one-sentence summary of a trend."""
    days = [dt.date.fromisoformat(p["date"]) for p in points]
    created = [int(p["created"]) for p in points]
    resolved = [int(p["resolved"]) for p in points]
    top = nice_top(max([*created, *resolved, 0]))
    last = max(len(points) - 1, 1)
    label_at = sorted({0, len(days) // 2, len(days) - 1}) if days else []
    total_created, total_resolved = sum(created), sum(resolved)
    if days:
        summary = (
            f"From {_short_date(days[0])} to {_short_date(days[-1])}, {total_created} "
            f"issues were created and {total_resolved} resolved."
        )
    else:
        summary = "No data."
    return {
        "width": last,
        "top": top,
        "created_points": _points(created, top),
        "resolved_points": _points(resolved, top),
        "created_area": f"0,{top} {_points(created, top)} {len(created) - 1},{top}",
        "ticks": [{"value": top * step // TICKS} for step in range(TICKS, -1, -1)],
        "x_labels": [_short_date(days[i]) for i in label_at],
        "rows": [
            {"date": day, "created": c, "resolved": r}
            for day, c, r in zip(days, created, resolved, strict=True)
        ],
        "total_created": total_created,
        "total_resolved": total_resolved,
        "is_empty": total_created == 0 and total_resolved == 0,
        "summary": summary,
    }


def bar_rows(
    items: Iterable[Mapping[str, Any]],
    key: str,
    choices: Iterable[tuple[str, str]],
    group: str,
    tones: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Rows of a horizontal bar list, one per choice, bars relative to the largest count.

    Each bar is an SVG rect `count` wide in a track `scale` (the largest count) wide, so
    no inline style is needed (Content-Security-Policy) and no percentage is rounded.
    """
    counts = {item[key]: int(item["count"]) for item in items}
    scale = max(counts.values(), default=0) or 1
    return [
        {
            "value": value,
            "label": label,
            "count": counts.get(value, 0),
            "scale": scale,
            "field": f"{group}.{value}",
            "tone": (tones or {}).get(value, "neutral"),
        }
        for value, label in choices
    ]


def stacked_columns(
    rows: Sequence[Mapping[str, Any]], label_key: str, series: Sequence[str]
) -> dict[str, Any]:
    """A column per row, its `series` values stacked from the bottom: SVG rects in count
    units in a viewBox len(rows) wide and `top` high (static/dashboard/dashboard.js draws
    them the same way on refresh)."""
    values = [[_number(row[name]) for name in series] for row in rows]
    top = nice_top(int(max((sum(column) for column in values), default=0)))
    columns = []
    for index, (row, column) in enumerate(zip(rows, values, strict=True)):
        base = top
        parts = []
        for name, value in zip(series, column, strict=True):
            base -= value
            parts.append(
                {"series": name, "y": svg_coordinate(base), "height": svg_coordinate(value)}
            )
        columns.append({"x": svg_coordinate(index + 0.1), "label": row[label_key], "parts": parts})
    return {"width": max(len(rows), 1), "top": top, "columns": columns}


def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


def svg_coordinate(value: float) -> str:
    """A coordinate as JavaScript's String(number) writes it (8, not 8.0), so a refresh
    redraws the same attributes."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
