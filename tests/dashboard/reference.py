"""The dashboard's former reads, by full recount: the reference the summaries must equal.

The SQL of dashboard.selectors before the summaries (issue #13), unchanged but for `now`
being a parameter (tests move time without touching the database) and the selectors'
names. Every aggregate is computed by PostgreSQL from the records, one query per entry.

Table names are unqualified on purpose: django-tenants' search_path puts the current
tenant's schema first, so the same SQL reads each tenant's own tables.
All functions return plain JSON-ready data with snake_case keys (the API camelizes).
A figure that changes with the clock (overdue, resolved today, this week, the next 7 days)
comes as `Expiring(value, until)`: the next instant it would change without a write (an SLA
or due time passing, local midnight, a scheduled start), read by the same statement; the
cache keeps the value no longer than that.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from applications.models import HEALTHY_MIN_SCORE, WARNING_MIN_SCORE, HealthStatus
from changes.models import Change
from firelater.models import Priority, format_number, number_sql
from issues.models import Issue
from requests_app.models import Request
from tenant_cache import Expiring

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


def _earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    """The first of these instants (None ones left out): when a value stops being right."""
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


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
               count(*) FILTER (WHERE resolved_at >= %(today)s) AS resolved_today,
               -- the next open issue to become overdue (overdue: sla_due_at < now)
               min(sla_due_at) FILTER (WHERE status = ANY(%(issue_open)s)
                                         AND sla_due_at >= %(now)s) AS next_sla_due
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
                                  AND due_at < %(now)s) AS overdue,
               min(due_at) FILTER (WHERE status = ANY(%(request_open)s)
                                     AND due_at >= %(now)s) AS next_due
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
           h.total, h.healthy, h.warning, h.critical, h.unknown,
           i.next_sla_due, r.next_due
    FROM issue_counts i, change_counts c, request_counts r, health_counts h
"""
)


def _time_params(now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    local_now = now.astimezone(_tz())
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = today - dt.timedelta(days=today.weekday())
    return {
        "now": now,
        "today": today,
        "tomorrow": today + dt.timedelta(days=1),  # wall-clock day: DST-safe with zoneinfo
        "week_start": week_start,
        "week_end": week_start + dt.timedelta(days=7),
        "healthy_min": HEALTHY_MIN_SCORE,
        "warning_min": WARNING_MIN_SCORE,
        "issue_open": _status_list(Issue.OPEN_STATUSES),
        "request_open": _status_list(Request.OPEN_STATUSES),
        "change_inactive": [Change.Status.DRAFT.value, *[str(s) for s in Change.INACTIVE_STATUSES]],
    }


def overview(*, now: dt.datetime | None = None) -> Expiring:
    """The five groups of headline counts, in one query. Right until the next open issue's
    SLA or open request's due time passes, or local midnight (resolved today; the week of
    scheduledThisWeek also starts at a midnight), whichever comes first."""
    params = _time_params(now)
    *row, next_sla_due, next_request_due = _fetch_one(_OVERVIEW_SQL, params)
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
    return Expiring(result, _earliest(next_sla_due, next_request_due, params["tomorrow"]))


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


def issue_trends(*, days: int = 30, now: dt.datetime | None = None) -> Expiring:
    """Issues created and resolved per day for the last `days` days (today included),
    every day present, days in the configured time zone; right until local midnight."""
    tz = _tz()
    last_day = (now or timezone.now()).astimezone(tz).date()
    first_day = last_day - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=tz)
    rows = _fetch_all(
        _TRENDS_SQL,
        {"first_day": first_day, "last_day": last_day, "start": start, "tz": settings.TIME_ZONE},
    )
    midnight = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return Expiring(
        [{"date": day.isoformat(), "created": c, "resolved": r} for day, c, r in rows], midnight
    )


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
        ORDER BY {column} DESC, id LIMIT %(limit)s
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


# The window's changes (first `limit`), and the next change to enter it, in one statement:
# the one-row LEFT JOIN keeps that answer when the window is empty.
_UPCOMING_SQL = """
WITH upcoming AS (
    SELECT c.id, c.number, c.title, c.status, c.risk, c.type, c.scheduled_start,
           c.scheduled_end, c.application_id, a.name AS application_name,
           count(*) OVER () AS total
    FROM changes_change c
    LEFT JOIN applications_application a ON a.id = c.application_id
    WHERE c.scheduled_start >= %(now)s AND c.scheduled_start < %(end)s
      AND c.status <> ALL(%(inactive)s)
    ORDER BY c.scheduled_start, c.id
    LIMIT %(limit)s
)
SELECT u.id, u.number, u.title, u.status, u.risk, u.type, u.scheduled_start,
       u.scheduled_end, u.application_id, u.application_name, u.total,
       (SELECT min(scheduled_start) FROM changes_change
         WHERE scheduled_start >= %(end)s AND status <> ALL(%(inactive)s)) AS next_entering
FROM (SELECT 1) AS one
LEFT JOIN upcoming u ON true
ORDER BY u.scheduled_start, u.id
"""


def upcoming_changes(
    *, days: int = UPCOMING_DAYS, limit: int = 50, now: dt.datetime | None = None
) -> Expiring:
    """Changes whose scheduled start falls in the next `days` days (not rejected,
    cancelled or closed). Right until the first of them starts (it leaves the window) or
    the next later one comes within `days` (it enters)."""
    now = now or timezone.now()
    window = dt.timedelta(days=days)
    params = {
        "now": now,
        "end": now + window,
        "limit": limit,
        "inactive": [str(s) for s in Change.INACTIVE_STATUSES],
    }
    rows = _fetch_all(_UPCOMING_SQL, params)
    next_entering = rows[0][-1]
    rows = [row for row in rows if row[0] is not None]  # the empty window's NULL row
    changes = [
        {
            "id": change_id,
            "number": format_number(Change.NUMBER_PREFIX, number),
            "title": title,
            "status": status,
            "risk": risk,
            "type": change_type,
            "scheduled_start": start,
            "scheduled_end": end,
            "application": {"id": app_id, "name": app_name} if app_id else None,
        }
        for (
            change_id,
            number,
            title,
            status,
            risk,
            change_type,
            start,
            end,
            app_id,
            app_name,
            _total,
            _next,
        ) in rows
    ]
    total = rows[0][10] if rows else 0
    first_leaving = rows[0][6] if rows else None
    valid_until = _earliest(
        first_leaving, next_entering - window if next_entering is not None else None
    )
    return Expiring(
        {"days": days, "total": total, "shown": len(changes), "changes": changes}, valid_until
    )


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
            AND status <> ALL(%(inactive)s)),
        (SELECT count(*) FROM app_health WHERE status = 'critical'),
        -- when a figure changes by the clock: an SLA passing, a change leaving or entering
        -- the upcoming window
        (SELECT min(sla_due_at) FROM issues_issue
          WHERE status = ANY(%(issue_open)s) AND sla_due_at >= %(now)s),
        (SELECT min(scheduled_start) FROM changes_change
          WHERE scheduled_start >= %(now)s AND status <> ALL(%(inactive)s)),
        (SELECT min(scheduled_start) FROM changes_change
          WHERE scheduled_start >= %(upcoming_end)s AND status <> ALL(%(inactive)s))
"""
)


def mobile_summary(*, now: dt.datetime | None = None) -> Expiring:
    """A compact summary for the phone app: what needs attention now. Right until the next
    open issue's SLA passes or a change leaves or enters the upcoming window."""
    params = _time_params(now)
    window = dt.timedelta(days=UPCOMING_DAYS)
    params["upcoming_end"] = params["now"] + window
    params["inactive"] = [str(s) for s in Change.INACTIVE_STATUSES]
    *row, next_sla_due, next_start, next_entering = _fetch_one(_MOBILE_SQL, params)
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
    entering = next_entering - window if next_entering is not None else None
    return Expiring(summary, _earliest(next_sla_due, next_start, entering))
