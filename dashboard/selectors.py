"""Dashboard reads: every aggregate is computed by PostgreSQL, one query per entry.

Table names are unqualified on purpose: django-tenants' search_path puts the current
tenant's schema first, so the same SQL reads each tenant's own tables.
All functions return plain JSON-ready data with snake_case keys (the API camelizes).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Window
from django.utils import timezone

from applications.models import HEALTHY_MIN_SCORE, WARNING_MIN_SCORE, HealthStatus
from changes.models import Change
from firelater.models import Priority, format_number, number_sql
from issues.models import Issue
from requests_app.models import Request

UPCOMING_DAYS = 7
HEALTH_BUCKETS = [s.value for s in HealthStatus]


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _fetch_one(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def _fetch_all(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def _status_list(values: Any) -> list[str]:
    return [str(v) for v in values]


# Latest score per application (DISTINCT ON walks health_app_calculated_idx), bucketed.
_LATEST_HEALTH = """
    latest AS (
        SELECT DISTINCT ON (application_id) application_id, score, calculated_at
        FROM applications_applicationhealthscore
        ORDER BY application_id, calculated_at DESC
    ),
    app_health AS (
        SELECT a.id, a.name, a.tier, l.score, l.calculated_at,
               CASE WHEN l.score IS NULL THEN 'unknown'
                    WHEN l.score >= %(healthy_min)s THEN 'healthy'
                    WHEN l.score >= %(warning_min)s THEN 'warning'
                    ELSE 'critical' END AS status
        FROM applications_application a
        LEFT JOIN latest l ON l.application_id = a.id
    )
"""

_OVERVIEW_SQL = (
    "WITH "
    + _LATEST_HEALTH
    + """,
    issue_counts AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status = ANY(%(issue_open)s)) AS open,
               count(*) FILTER (WHERE status = ANY(%(issue_open)s)
                                  AND priority = 'critical') AS critical,
               count(*) FILTER (WHERE status = ANY(%(issue_open)s)
                                  AND sla_due_at < %(now)s) AS overdue,
               count(*) FILTER (WHERE resolved_at >= %(today)s) AS resolved_today
        FROM issues_issue
    ),
    change_counts AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status = 'submitted') AS pending_approval,
               count(*) FILTER (WHERE scheduled_start >= %(week_start)s
                                  AND scheduled_start < %(week_end)s
                                  AND status <> ALL(%(change_inactive)s)) AS scheduled_this_week,
               count(*) FILTER (WHERE status = 'failed') AS failed
        FROM changes_change
    ),
    request_counts AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status = ANY(%(request_open)s)) AS open,
               count(*) FILTER (WHERE status = 'pending_approval') AS pending_approval,
               count(*) FILTER (WHERE status = ANY(%(request_open)s)
                                  AND due_at < %(now)s) AS overdue
        FROM requests_app_request
    ),
    health_counts AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status = 'healthy') AS healthy,
               count(*) FILTER (WHERE status = 'warning') AS warning,
               count(*) FILTER (WHERE status = 'critical') AS critical,
               count(*) FILTER (WHERE status = 'unknown') AS unknown
        FROM app_health
    )
    SELECT i.total, i.open, i.critical, i.overdue, i.resolved_today,
           c.total, c.pending_approval, c.scheduled_this_week, c.failed,
           r.total, r.open, r.pending_approval, r.overdue,
           h.total, h.healthy, h.warning, h.critical, h.unknown
    FROM issue_counts i, change_counts c, request_counts r, health_counts h
"""
)


def _time_params() -> dict[str, Any]:
    now = timezone.now()
    local_now = now.astimezone(_tz())
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = today - dt.timedelta(days=today.weekday())
    return {
        "now": now,
        "today": today,
        "week_start": week_start,
        "week_end": week_start + dt.timedelta(days=7),
        "healthy_min": HEALTHY_MIN_SCORE,
        "warning_min": WARNING_MIN_SCORE,
        "issue_open": _status_list(Issue.OPEN_STATUSES),
        "request_open": _status_list(Request.OPEN_STATUSES),
        "change_inactive": [Change.Status.DRAFT.value, Change.Status.CANCELLED.value],
    }


def overview() -> dict[str, Any]:
    """The five groups of headline counts, in one query."""
    row = _fetch_one(_OVERVIEW_SQL, _time_params())
    names = {
        "issues": ["total", "open", "critical", "overdue", "resolved_today"],
        "changes": ["total", "pending_approval", "scheduled_this_week", "failed"],
        "requests": ["total", "open", "pending_approval", "overdue"],
        "applications": ["total", "healthy", "warning", "critical", "unknown"],
    }
    result: dict[str, Any] = {}
    position = 0
    for group, fields in names.items():
        result[group] = dict(zip(fields, row[position : position + len(fields)], strict=True))
        position += len(fields)
    return result


_TRENDS_SQL = """
WITH days AS (
    SELECT generate_series(%(first_day)s::date, %(last_day)s::date, interval '1 day')::date AS day
),
created AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n
    FROM issues_issue WHERE created_at >= %(start)s GROUP BY 1
),
resolved AS (
    SELECT (resolved_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n
    FROM issues_issue WHERE resolved_at >= %(start)s GROUP BY 1
)
SELECT days.day, coalesce(created.n, 0), coalesce(resolved.n, 0)
FROM days
LEFT JOIN created ON created.day = days.day
LEFT JOIN resolved ON resolved.day = days.day
ORDER BY days.day
"""


def issue_trends(*, days: int = 30) -> list[dict[str, Any]]:
    """Issues created and resolved per day for the last `days` days (today included),
    every day present, days in the configured time zone."""
    tz = _tz()
    last_day = timezone.now().astimezone(tz).date()
    first_day = last_day - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=tz)
    rows = _fetch_all(
        _TRENDS_SQL,
        {"first_day": first_day, "last_day": last_day, "start": start, "tz": settings.TIME_ZONE},
    )
    return [{"date": day.isoformat(), "created": c, "resolved": r} for day, c, r in rows]


_HEALTH_SQL = (
    "WITH "
    + _LATEST_HEALTH
    + """
    SELECT
        (SELECT coalesce(json_agg(json_build_object('status', status, 'tier', tier, 'count', n)
                                  ORDER BY status, tier), '[]')
         FROM (SELECT status, tier, count(*) AS n FROM app_health GROUP BY status, tier) t),
        (SELECT coalesce(json_agg(json_build_object(
                    'id', id, 'name', name, 'tier', tier, 'score', score,
                    'calculated_at', calculated_at, 'status', status) ORDER BY name, id), '[]')
         FROM app_health)
"""
)


def health_distribution() -> dict[str, Any]:
    """Applications per health bucket, per tier, and each application's latest score."""
    params = {"healthy_min": HEALTHY_MIN_SCORE, "warning_min": WARNING_MIN_SCORE}
    groups, applications = _fetch_one(_HEALTH_SQL, params)
    buckets = dict.fromkeys(HEALTH_BUCKETS, 0)
    tiers: dict[int, dict[str, int]] = {}
    for group in groups:  # one row per (bucket, tier) pair that exists: at most 16
        buckets[group["status"]] += group["count"]
        tiers.setdefault(group["tier"], dict.fromkeys(HEALTH_BUCKETS, 0))[group["status"]] = group[
            "count"
        ]
    return {
        "total": sum(buckets.values()),
        "buckets": buckets,
        "by_tier": [{"tier": tier, **counts} for tier, counts in sorted(tiers.items())],
        "applications": applications,
    }


def _activity_branch(kind: str, table: str, prefix: str, action: str, column: str) -> str:
    condition = f"WHERE {column} IS NOT NULL"
    if action == "updated":
        # An update that is the creation or the resolution is already its own event.
        done = {"issue": "resolved_at", "request": "fulfilled_at"}.get(kind)
        condition = f"WHERE {column} > created_at + interval '1 second'"
        if done:
            condition += f" AND {column} IS DISTINCT FROM {done}"
    return f"""(
        SELECT '{kind}' AS type, id, {number_sql(prefix)} AS number,
               title, '{action}' AS action, {column} AS at
        FROM {table} {condition}
        ORDER BY {column} DESC LIMIT %(limit)s
    )"""


_ACTIVITY_SQL = (
    " UNION ALL ".join(
        _activity_branch(*branch)
        for branch in [
            ("issue", "issues_issue", "ISS", "created", "created_at"),
            ("issue", "issues_issue", "ISS", "updated", "updated_at"),
            ("issue", "issues_issue", "ISS", "resolved", "resolved_at"),
            ("change", "changes_change", "CHG", "created", "created_at"),
            ("change", "changes_change", "CHG", "updated", "updated_at"),
            ("request", "requests_app_request", "REQ", "created", "created_at"),
            ("request", "requests_app_request", "REQ", "updated", "updated_at"),
            ("request", "requests_app_request", "REQ", "fulfilled", "fulfilled_at"),
        ]
    )
    + " ORDER BY at DESC, type, id LIMIT %(limit)s"
)


def recent_activity(*, limit: int = 20) -> list[dict[str, Any]]:
    """Newest events (created, updated, resolved/fulfilled) across issues, changes and
    requests; each branch walks its timestamp index and stops at `limit` rows."""
    rows = _fetch_all(_ACTIVITY_SQL, {"limit": limit})
    return [
        {"type": t, "id": i, "number": n, "title": title, "action": a, "at": at}
        for t, i, n, title, a, at in rows
    ]


def _counts_by(
    table: str, column: str, choices: list[str], where: str = ""
) -> list[dict[str, Any]]:
    """[{column: value, "count": n}] for every choice, zeros included, in choice order."""
    rows = _fetch_all(
        # Identifiers come from this module only, never from a request.
        f"SELECT {column}, count(*) FROM {table} {where} GROUP BY {column}",
        {"open": _status_list(Issue.OPEN_STATUSES)},
    )
    counts = dict(rows)
    return [{column: choice, "count": counts.get(choice, 0)} for choice in choices]


def issues_by_priority() -> list[dict[str, Any]]:
    """Open issues per priority (every priority present)."""
    return _counts_by("issues_issue", "priority", Priority.values, "WHERE status = ANY(%(open)s)")


def issues_by_status() -> list[dict[str, Any]]:
    return _counts_by("issues_issue", "status", Issue.Status.values)


def requests_by_status() -> list[dict[str, Any]]:
    return _counts_by("requests_app_request", "status", Request.Status.values)


def upcoming_changes(*, days: int = UPCOMING_DAYS, limit: int = 50) -> dict[str, Any]:
    """Changes whose scheduled start falls in the next `days` days (not cancelled)."""
    now = timezone.now()
    queryset = (
        Change.objects.filter(
            scheduled_start__gte=now, scheduled_start__lt=now + dt.timedelta(days=days)
        )
        .exclude(status=Change.Status.CANCELLED)
        .annotate(total=Window(Count("id")))
        .order_by("scheduled_start", "id")
        .values(
            "total",
            "id",
            "number",
            "title",
            "status",
            "risk",
            "type",
            "scheduled_start",
            "scheduled_end",
            "application_id",
            "application__name",
        )[:limit]
    )
    rows = list(queryset)
    changes = [
        {
            "id": row["id"],
            "number": format_number(Change.NUMBER_PREFIX, row["number"]),
            "title": row["title"],
            "status": row["status"],
            "risk": row["risk"],
            "type": row["type"],
            "scheduled_start": row["scheduled_start"],
            "scheduled_end": row["scheduled_end"],
            "application": (
                {"id": row["application_id"], "name": row["application__name"]}
                if row["application_id"]
                else None
            ),
        }
        for row in rows
    ]
    total = rows[0]["total"] if rows else 0
    return {"days": days, "total": total, "shown": len(changes), "changes": changes}


_MOBILE_SQL = (
    "WITH "
    + _LATEST_HEALTH
    + """
    SELECT
        (SELECT count(*) FROM issues_issue WHERE status = ANY(%(issue_open)s)),
        (SELECT count(*) FROM issues_issue
          WHERE status = ANY(%(issue_open)s) AND priority = 'critical'),
        (SELECT count(*) FROM issues_issue
          WHERE status = ANY(%(issue_open)s) AND sla_due_at < %(now)s),
        (SELECT count(*) FROM changes_change WHERE status = 'submitted'),
        (SELECT count(*) FROM requests_app_request WHERE status = 'pending_approval'),
        (SELECT count(*) FROM changes_change
          WHERE scheduled_start >= %(now)s AND scheduled_start < %(upcoming_end)s
            AND status <> 'cancelled'),
        (SELECT count(*) FROM app_health WHERE status = 'critical')
"""
)


def mobile_summary() -> dict[str, Any]:
    """A compact summary for the phone app: what needs attention now."""
    params = _time_params()
    params["upcoming_end"] = params["now"] + dt.timedelta(days=UPCOMING_DAYS)
    row = _fetch_one(_MOBILE_SQL, params)
    names = [
        "open_issues",
        "critical_issues",
        "overdue_issues",
        "changes_pending_approval",
        "requests_pending_approval",
        "upcoming_changes",
        "critical_applications",
    ]
    summary: dict[str, Any] = dict(zip(names, row, strict=True))
    summary["needs_attention"] = (
        summary["critical_issues"] + summary["overdue_issues"] + summary["critical_applications"]
    )
    summary["generated_at"] = params["now"]
    return summary
