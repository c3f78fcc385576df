"""Dashboard reads: one query per entry, over summaries the triggers keep and a few
index probes, never a scan of the records.

Counts come from the summary tables of firelater.aggregates (issues/changes/requests_app
`aggregates.py`): sums of a few rows. A figure that changes with the clock is computed at
read time: whole quarter hours from the quarter-hour summaries, the current partial quarter
hour from a partial index over open records (overdue = open with an SLA minus open with
an SLA still ahead). Day boundaries (TIME_ZONE) fall on quarter hours (check
dashboard.E001), so "today" and "this week" are whole quarter hours. The old full-scan
SQL is kept as the tests' reference (tests/dashboard/reference.py): equal at every moment.

Table names are unqualified on purpose: django-tenants' search_path puts the current
tenant's schema first, so the same SQL reads each tenant's own tables.
All functions return plain JSON-ready data with snake_case keys (the API camelizes).
A figure that changes with the clock (overdue, resolved today, this week, the next 7 days)
comes as `Expiring(value, until)`: the next instant it would change without a write (an SLA
or due time passing, local midnight, a scheduled start), read by the same statement; the
cache keeps the value no longer than that. Each selector takes `now` (default: the clock)
so tests can move time without touching the database.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from applications.models import HEALTHY_MIN_SCORE, WARNING_MIN_SCORE, HealthStatus
from changes import aggregates as change_summaries
from changes.models import Change
from firelater.aggregates import QUARTER_HOUR_SECONDS
from firelater.models import Priority, format_number, number_sql
from issues import aggregates as issue_summaries
from issues.models import OPEN_ISSUE_STATUSES, Issue
from requests_app import aggregates as request_summaries
from requests_app.models import OPEN_REQUEST_STATUSES, Request
from tenant_cache import Expiring, reading_connection

UPCOMING_DAYS = 7
HEALTH_BUCKETS = [s.value for s in HealthStatus]
QUARTER_HOUR = dt.timedelta(seconds=QUARTER_HOUR_SECONDS)
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # the summaries' quarter-hour origin


def _tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _fetch_one(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    # The standby's connection when the cache recomputes there (tenant_cache.replica).
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def _fetch_all(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def _status_list(values: Any) -> list[str]:
    return [str(v) for v in values]


def _in_list(values: Any) -> str:
    """SQL `IN (...)` of trusted constants (model choices), spelled as the partial indexes'
    predicates are, so PostgreSQL sees that a query's condition implies the index's."""
    return "(" + ", ".join(f"'{v}'" for v in _status_list(values)) + ")"


def _earliest(*moments: dt.datetime | None) -> dt.datetime | None:
    """The first of these instants (None ones left out): when a value stops being right."""
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def _quarter_floor(moment: dt.datetime) -> dt.datetime:
    return moment - (moment - _EPOCH) % QUARTER_HOUR


def _quarter_ceil(moment: dt.datetime) -> dt.datetime:
    floor = _quarter_floor(moment)
    return floor if floor == moment else floor + QUARTER_HOUR


def _statuses_but(excluded: list[str]) -> list[str]:
    """Every change status but these."""
    return [status for status in Change.Status.values if status not in excluded]


_ISSUE_OPEN = _in_list(OPEN_ISSUE_STATUSES)
_REQUEST_OPEN = _in_list(OPEN_REQUEST_STATUSES)

# Latest score per application: one probe of health_app_calculated_idx per application.
_LATEST_HEALTH = """
    app_health AS (
        SELECT a.id, a.name, a.tier, l.score, l.calculated_at,
               CASE WHEN l.score IS NULL THEN 'unknown'
                    WHEN l.score >= %(healthy_min)s THEN 'healthy'
                    WHEN l.score >= %(warning_min)s THEN 'warning'
                    ELSE 'critical' END AS status
        FROM applications_application a
        LEFT JOIN LATERAL (
            SELECT s.score, s.calculated_at FROM applications_applicationhealthscore s
            WHERE s.application_id = a.id ORDER BY s.calculated_at DESC LIMIT 1
        ) l ON true
    )
"""

# Open records with an SLA (due time) still ahead: whole quarter hours from the summary,
# the rest of the current quarter hour from the partial index over open records.
_ISSUES_SLA_AHEAD = f"""(
    (SELECT coalesce(sum(n), 0) FROM {issue_summaries.SLA_DUE.table}
      WHERE quarter >= %(next_quarter)s AND status = ANY(%(issue_open)s))
    + (SELECT count(*) FROM issues_issue
        WHERE status IN {_ISSUE_OPEN}
          AND sla_due_at >= %(now)s AND sla_due_at < %(next_quarter)s)
)"""
_ISSUES_OVERDUE = f"""(
    (SELECT coalesce(sum(n), 0) FROM issue_counts
      WHERE status = ANY(%(issue_open)s) AND has_sla) - {_ISSUES_SLA_AHEAD}
)::bigint"""
_NEXT_SLA_DUE = f"""(
    SELECT min(sla_due_at) FROM issues_issue
    WHERE status IN {_ISSUE_OPEN} AND sla_due_at >= %(now)s
)"""
_ISSUE_COUNTS = f"""
    issue_counts AS (
        SELECT status, priority, has_sla, sum(n) AS n FROM {issue_summaries.COUNTS.table}
        GROUP BY status, priority, has_sla
    )
"""


def _scheduled_between(start: str, end: str, where: str) -> str:
    """SQL: changes (`where` on status) whose scheduled start is in [start, end), both
    any instants: whole quarter hours from the summary, the two ragged ends by index."""
    return f"""(
        (SELECT coalesce(sum(n), 0) FROM {change_summaries.SCHEDULED.table}
          WHERE quarter >= %({start}_ceil)s AND quarter < %({end}_floor)s AND {where})
        + (SELECT count(*) FROM changes_change
            WHERE {where} AND (
                (scheduled_start >= %({start})s AND scheduled_start < %({start}_ceil)s)
                OR (scheduled_start >= %({end}_floor)s AND scheduled_start < %({end})s
                    AND %({end}_floor)s >= %({start}_ceil)s)))
    )::bigint"""


def _window(params: dict[str, Any], **moments: dt.datetime) -> None:
    """Add each moment and its quarter-hour ceiling and floor to the query parameters."""
    for name, moment in moments.items():
        params[name] = moment
        params[f"{name}_ceil"] = _quarter_ceil(moment)
        params[f"{name}_floor"] = _quarter_floor(moment)


_OVERVIEW_SQL = f"""
WITH {_LATEST_HEALTH}, {_ISSUE_COUNTS},
    change_counts AS (
        SELECT status, sum(n) AS n FROM {change_summaries.COUNTS.table} GROUP BY status
    ),
    request_counts AS (
        SELECT status, has_due, sum(n) AS n FROM {request_summaries.COUNTS.table}
        GROUP BY status, has_due
    ),
    health_counts AS (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status = 'healthy') AS healthy,
               count(*) FILTER (WHERE status = 'warning') AS warning,
               count(*) FILTER (WHERE status = 'critical') AS critical,
               count(*) FILTER (WHERE status = 'unknown') AS unknown
        FROM app_health
    )
SELECT
    (SELECT coalesce(sum(n), 0) FROM issue_counts)::bigint,
    (SELECT coalesce(sum(n), 0) FROM issue_counts WHERE status = ANY(%(issue_open)s))::bigint,
    (SELECT coalesce(sum(n), 0) FROM issue_counts
      WHERE status = ANY(%(issue_open)s) AND priority = 'critical')::bigint,
    {_ISSUES_OVERDUE},
    (SELECT coalesce(sum(n), 0) FROM {issue_summaries.RESOLVED.table}
      WHERE quarter >= %(today)s)::bigint,
    (SELECT coalesce(sum(n), 0) FROM change_counts)::bigint,
    (SELECT coalesce(sum(n), 0) FROM change_counts WHERE status = 'submitted')::bigint,
    (SELECT coalesce(sum(n), 0) FROM {change_summaries.SCHEDULED.table}
      WHERE quarter >= %(week_start)s AND quarter < %(week_end)s
        AND status = ANY(%(change_active)s))::bigint,
    (SELECT coalesce(sum(n), 0) FROM change_counts WHERE status = 'failed')::bigint,
    (SELECT coalesce(sum(n), 0) FROM request_counts)::bigint,
    (SELECT coalesce(sum(n), 0) FROM request_counts
      WHERE status = ANY(%(request_open)s))::bigint,
    (SELECT coalesce(sum(n), 0) FROM request_counts WHERE status = 'pending_approval')::bigint,
    ((SELECT coalesce(sum(n), 0) FROM request_counts
       WHERE status = ANY(%(request_open)s) AND has_due)
     - (SELECT coalesce(sum(n), 0) FROM {request_summaries.DUE.table}
         WHERE quarter >= %(next_quarter)s AND status = ANY(%(request_open)s))
     - (SELECT count(*) FROM requests_app_request
         WHERE status IN {_REQUEST_OPEN}
           AND due_at >= %(now)s AND due_at < %(next_quarter)s))::bigint,
    h.total, h.healthy, h.warning, h.critical, h.unknown,
    {_NEXT_SLA_DUE},
    (SELECT min(due_at) FROM requests_app_request
      WHERE status IN {_REQUEST_OPEN} AND due_at >= %(now)s)
FROM health_counts h
"""


def _time_params(now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    local_now = now.astimezone(_tz())
    today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = today - dt.timedelta(days=today.weekday())
    params: dict[str, Any] = {
        "now": now,
        "next_quarter": _quarter_ceil(now),
        "today": today,
        "tomorrow": today + dt.timedelta(days=1),  # wall-clock day: DST-safe with zoneinfo
        "week_start": week_start,
        "week_end": week_start + dt.timedelta(days=7),
        "healthy_min": HEALTHY_MIN_SCORE,
        "warning_min": WARNING_MIN_SCORE,
        "issue_open": _status_list(Issue.OPEN_STATUSES),
        "request_open": _status_list(Request.OPEN_STATUSES),
        "change_inactive": [Change.Status.DRAFT.value, *_status_list(Change.INACTIVE_STATUSES)],
    }
    # Statuses spelled out rather than excluded, so the summaries' (status, quarter) index
    # is probed per status (the same set: the database allows only the choices).
    params["change_active"] = _statuses_but(params["change_inactive"])
    params["upcoming_statuses"] = _statuses_but(_status_list(Change.INACTIVE_STATUSES))
    return params


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


# Local days are whole quarter hours (dashboard.E001), so a quarter's local date is the
# date of every issue in it.
_TRENDS_SQL = f"""
WITH days AS (
    SELECT generate_series(%(first_day)s::date, %(last_day)s::date, interval '1 day')::date AS day
),
created AS (
    SELECT (quarter AT TIME ZONE %(tz)s)::date AS day, sum(n) AS n
    FROM {issue_summaries.CREATED.table} WHERE quarter >= %(start)s GROUP BY 1
),
resolved AS (
    SELECT (quarter AT TIME ZONE %(tz)s)::date AS day, sum(n) AS n
    FROM {issue_summaries.RESOLVED.table} WHERE quarter >= %(start)s GROUP BY 1
)
SELECT days.day, coalesce(created.n, 0)::bigint, coalesce(resolved.n, 0)::bigint
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


_HEALTH_SQL = f"""
WITH {_LATEST_HEALTH}
SELECT
    (SELECT coalesce(json_agg(json_build_object('status', status, 'tier', tier, 'count', n)
                              ORDER BY status, tier), '[]')
     FROM (SELECT status, tier, count(*) AS n FROM app_health GROUP BY status, tier) t),
    (SELECT coalesce(json_agg(json_build_object(
                'id', id, 'name', name, 'tier', tier, 'score', score,
                'calculated_at', calculated_at, 'status', status) ORDER BY name, id), '[]')
     FROM app_health)
"""


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
        condition = f"WHERE {column} - created_at > interval '1 second'"
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
    """[{column: value, "count": n}] for every choice, zeros included, in choice order,
    summed from a summary table."""
    rows = _fetch_all(
        # Identifiers come from this module only, never from a request.
        f"SELECT {column}, sum(n)::bigint FROM {table} {where} GROUP BY {column}",
        {"open": _status_list(Issue.OPEN_STATUSES)},
    )
    counts = dict(rows)
    return [{column: choice, "count": counts.get(choice, 0)} for choice in choices]


def issues_by_priority() -> list[dict[str, Any]]:
    """Open issues per priority (every priority present)."""
    return _counts_by(
        issue_summaries.COUNTS.table, "priority", Priority.values, "WHERE status = ANY(%(open)s)"
    )


def issues_by_status() -> list[dict[str, Any]]:
    return _counts_by(issue_summaries.COUNTS.table, "status", Issue.Status.values)


def requests_by_status() -> list[dict[str, Any]]:
    return _counts_by(request_summaries.COUNTS.table, "status", Request.Status.values)


# The window's changes (first `limit`), their number, and the next change to enter it, in
# one statement: the one-row LEFT JOIN keeps the two figures when the window is empty.
_UPCOMING_SQL = f"""
WITH upcoming AS (
    SELECT c.id, c.number, c.title, c.status, c.risk, c.type, c.scheduled_start,
           c.scheduled_end, c.application_id, a.name AS application_name
    FROM changes_change c
    LEFT JOIN applications_application a ON a.id = c.application_id
    WHERE c.scheduled_start >= %(now)s AND c.scheduled_start < %(end)s
      AND c.status <> ALL(%(inactive)s)
    ORDER BY c.scheduled_start, c.id
    LIMIT %(limit)s
)
SELECT u.id, u.number, u.title, u.status, u.risk, u.type, u.scheduled_start,
       u.scheduled_end, u.application_id, u.application_name,
       {_scheduled_between("now", "end", "status = ANY(%(upcoming_statuses)s)")} AS total,
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
    cancelled or closed). Right
    until the first of them starts (it leaves the window) or the next later one comes
    within `days` (it enters)."""
    now = now or timezone.now()
    window = dt.timedelta(days=days)
    params: dict[str, Any] = {
        "limit": limit,
        "inactive": _status_list(Change.INACTIVE_STATUSES),
        "upcoming_statuses": _statuses_but(_status_list(Change.INACTIVE_STATUSES)),
    }
    _window(params, now=now, end=now + window)
    rows = _fetch_all(_UPCOMING_SQL, params)
    total, next_entering = rows[0][-2], rows[0][-1]
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
    first_leaving = rows[0][6] if rows else None
    valid_until = _earliest(
        first_leaving, next_entering - window if next_entering is not None else None
    )
    return Expiring(
        {"days": days, "total": total, "shown": len(changes), "changes": changes}, valid_until
    )


_MOBILE_SQL = f"""
WITH {_LATEST_HEALTH}, {_ISSUE_COUNTS}
SELECT
    (SELECT coalesce(sum(n), 0) FROM issue_counts WHERE status = ANY(%(issue_open)s))::bigint,
    (SELECT coalesce(sum(n), 0) FROM issue_counts
      WHERE status = ANY(%(issue_open)s) AND priority = 'critical')::bigint,
    {_ISSUES_OVERDUE},
    (SELECT coalesce(sum(n), 0) FROM {change_summaries.COUNTS.table}
      WHERE status = 'submitted')::bigint,
    (SELECT coalesce(sum(n), 0) FROM {request_summaries.COUNTS.table}
      WHERE status = 'pending_approval')::bigint,
    {_scheduled_between("now", "upcoming_end", "status = ANY(%(upcoming_statuses)s)")},
    (SELECT count(*) FROM app_health WHERE status = 'critical'),
    -- when a figure changes by the clock: an SLA passing, a change leaving or entering
    -- the upcoming window
    {_NEXT_SLA_DUE},
    (SELECT min(scheduled_start) FROM changes_change
      WHERE scheduled_start >= %(now)s AND status = ANY(%(upcoming_statuses)s)),
    (SELECT min(scheduled_start) FROM changes_change
      WHERE scheduled_start >= %(upcoming_end)s AND status = ANY(%(upcoming_statuses)s))
"""


def mobile_summary(*, now: dt.datetime | None = None) -> Expiring:
    """A compact summary for the phone app: what needs attention now. Right until the next
    open issue's SLA passes or a change leaves or enters the upcoming window."""
    params = _time_params(now)
    window = dt.timedelta(days=UPCOMING_DAYS)
    _window(params, now=params["now"], upcoming_end=params["now"] + window)
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


def _percent(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is nothing to rate."""
    return round(100 * part / whole, 1) if whole else None


def _local_days(days: int) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """The last `days` local days (today included): first and last day, the first day's
    local midnight, and the next local midnight (when the window moves)."""
    tz = _tz()
    last_day = timezone.now().astimezone(tz).date()
    first_day = last_day - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=tz)
    midnight = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return first_day, last_day, start, midnight


# Issues created in the window that have an SLA; breached: resolved after it, or still
# unresolved past it. resolved_at is set exactly while an issue is resolved or closed.
# The window's whole UTC hours come from issues_sla_hourly (kept by triggers, issues
# migration 0002); its first, partial hour from the issues themselves (issue_created_idx);
# the clock's part, the unresolved issues whose SLA is still ahead, from issue_unresolved_sla_idx.
_SLA_SQL = """
WITH hours AS (
    SELECT priority, sum(with_sla) AS total, sum(resolved_late) AS late,
           sum(unresolved) AS unresolved
    FROM issues_sla_hourly WHERE hour >= %(first_hour)s
    GROUP BY priority
),
head AS (
    SELECT i.priority, count(*) AS total,
           count(*) FILTER (WHERE i.resolved_at > i.sla_due_at) AS late,
           count(*) FILTER (WHERE i.resolved_at IS NULL) AS unresolved
    FROM issues_issue i
    WHERE i.created_at >= %(start)s AND i.created_at < %(first_hour)s
      AND i.sla_due_at IS NOT NULL
    GROUP BY i.priority
),
ahead AS (
    SELECT o.priority, count(*) AS n, min(o.sla_due_at) AS next_breach
    FROM issues_issue o
    WHERE o.resolved_at IS NULL AND o.sla_due_at >= %(now)s AND o.created_at >= %(start)s
    GROUP BY o.priority
),
counted AS (
    SELECT priority, total, late, unresolved, 0 AS ahead, NULL::timestamptz AS next_breach
    FROM hours
    UNION ALL SELECT priority, total, late, unresolved, 0, NULL FROM head
    UNION ALL SELECT priority, 0, 0, 0, n, next_breach FROM ahead
)
SELECT priority, sum(total)::bigint, sum(late + unresolved - ahead)::bigint, min(next_breach)
FROM counted
GROUP BY priority
"""


def _next_utc_hour(moment: dt.datetime) -> dt.datetime:
    """The first whole UTC hour at or after `moment` (where issues_sla_hourly takes over)."""
    utc = moment.astimezone(dt.UTC)
    hour = utc.replace(minute=0, second=0, microsecond=0)
    return hour if hour == utc else hour + dt.timedelta(hours=1)


def sla_compliance(*, days: int = 30) -> Expiring:
    """Per priority (critical to low, every one present): issues created in the last
    `days` days with an SLA, how many met it and how many breached it. Right until the
    next unresolved issue's SLA passes or local midnight (the window moves)."""
    _first, _last, start, midnight = _local_days(days)
    now = timezone.now()
    params = {"start": start, "first_hour": _next_utc_hour(start), "now": now}
    rows = {row[0]: row[1:] for row in _fetch_all(_SLA_SQL, params)}
    result = []
    for priority in Priority.values:
        total, breached, _next = rows.get(priority, (0, 0, None))
        result.append(
            {
                "priority": priority,
                "total": total,
                "within_sla": total - breached,
                "breached": breached,
                "compliance_rate": _percent(total - breached, total),
            }
        )
    next_breach = _earliest(*(row[2] for row in rows.values()))
    return Expiring(result, _earliest(next_breach, midnight))


# Changes whose outcome was recorded in the window, per local day, from
# changes_ended_quarterly (kept by triggers, changes migration 0004): every time zone's
# midnight is a quarter hour, so its rows fall into exactly one local day each. Closed
# changes keep their outcome, so they still count.
_SUCCESS_SQL = """
WITH days AS (
    SELECT generate_series(%(first_day)s::date, %(last_day)s::date, interval '1 day')::date AS day
),
ended AS (
    SELECT (quarter AT TIME ZONE %(tz)s)::date AS day,
           sum(n) AS completed,
           sum(n) FILTER (WHERE outcome = 'successful') AS successful,
           sum(n) FILTER (WHERE outcome = 'failed') AS failed,
           sum(n) FILTER (WHERE outcome = 'rolled_back') AS rolled_back
    FROM changes_ended_quarterly
    WHERE quarter >= %(start)s
    GROUP BY 1
)
SELECT days.day, coalesce(completed, 0)::bigint, coalesce(successful, 0)::bigint,
       coalesce(failed, 0)::bigint, coalesce(rolled_back, 0)::bigint
FROM days LEFT JOIN ended ON ended.day = days.day
ORDER BY days.day
"""


def change_success_rate(*, days: int = 30) -> Expiring:
    """Per local day of the last `days` (every day present): changes that ended that day,
    by outcome, and the share that succeeded. Right until local midnight."""
    first_day, last_day, start, midnight = _local_days(days)
    rows = _fetch_all(
        _SUCCESS_SQL,
        {"first_day": first_day, "last_day": last_day, "start": start, "tz": settings.TIME_ZONE},
    )
    return Expiring(
        [
            {
                "date": day.isoformat(),
                "completed": completed,
                "successful": successful,
                "failed": failed,
                "rolled_back": rolled_back,
                "success_rate": _percent(successful, completed),
            }
            for day, completed, successful, failed, rolled_back in rows
        ],
        midnight,
    )


# Each application's two latest scores (a LATERAL walk of health_app_calculated_idx per
# application), the critical ones lowest first; total counts them all.
_CRITICAL_APPS_SQL = """
WITH scored AS (
    SELECT a.id, a.name, a.tier, s.scores[1] AS score, s.at[1] AS calculated_at,
           s.scores[2] AS previous
    FROM applications_application a
    CROSS JOIN LATERAL (
        SELECT array_agg(h.score ORDER BY h.calculated_at DESC, h.id DESC) AS scores,
               array_agg(h.calculated_at ORDER BY h.calculated_at DESC, h.id DESC) AS at
        FROM (
            SELECT hs.id, hs.score, hs.calculated_at
            FROM applications_applicationhealthscore hs
            WHERE hs.application_id = a.id
            ORDER BY hs.calculated_at DESC, hs.id DESC
            LIMIT 2
        ) h
    ) s
),
critical AS (
    SELECT *, count(*) OVER () AS total FROM scored WHERE score < %(warning_min)s
)
SELECT id, name, tier, score, calculated_at, previous, total
FROM critical
ORDER BY score, name, id
LIMIT %(limit)s
"""


def _trend(score: int, previous: int | None) -> str | None:
    if previous is None:
        return None
    if score > previous:
        return "improving"
    return "declining" if score < previous else "stable"


def critical_applications(*, limit: int = 5) -> dict[str, Any]:
    """Applications whose latest score is below the warning threshold, lowest first (the
    first `limit`), with the direction of their last change; total counts them all."""
    rows = _fetch_all(_CRITICAL_APPS_SQL, {"warning_min": WARNING_MIN_SCORE, "limit": limit})
    return {
        "total": rows[0][6] if rows else 0,
        "applications": [
            {
                "id": app_id,
                "name": name,
                "tier": tier,
                "score": score,
                "calculated_at": calculated_at,
                "trend": _trend(score, previous),
            }
            for app_id, name, tier, score, calculated_at, previous, _total in rows
        ],
    }


# Requests created in the window that name a catalog item, per item, the busiest first:
# the window's whole UTC days from requests_by_item_daily (kept by triggers, requests_app
# migration 0003), its first, partial day from the requests (request_item_created_idx).
_BY_ITEM_SQL = """
WITH per_item AS (
    SELECT item_id, sum(n) AS requests, sum(fulfilled) AS fulfilled,
           sum(within_target) AS within_target
    FROM (
        SELECT item_id, n, fulfilled, within_target
        FROM requests_by_item_daily WHERE day >= %(first_day)s
        UNION ALL
        SELECT r.catalog_item_id, 1, (r.fulfilled_at IS NOT NULL)::int,
               coalesce((r.fulfilled_at <= r.created_at
                         + make_interval(hours => c.fulfilment_target_hours))::int, 0)
        FROM requests_app_request r
        JOIN requests_app_catalogitem c ON c.id = r.catalog_item_id
        WHERE r.created_at >= %(start)s AND r.created_at < %(first_midnight)s
          AND r.catalog_item_id IS NOT NULL
    ) counted
    GROUP BY item_id
    HAVING sum(n) > 0
)
SELECT p.item_id, c.name, p.requests::bigint, p.fulfilled::bigint, p.within_target::bigint
FROM per_item p JOIN requests_app_catalogitem c ON c.id = p.item_id
ORDER BY p.requests DESC, c.name, p.item_id
LIMIT %(limit)s
"""


def requests_by_catalog_item(*, days: int = 30, limit: int = 10) -> Expiring:
    """The `limit` catalog items most requested in the last `days` days: requests, how
    many were fulfilled, the fulfilment rate and how many met the item's target. Right
    until local midnight (the window moves)."""
    _first, _last, start, midnight = _local_days(days)
    utc_start = start.astimezone(dt.UTC)
    first_midnight = dt.datetime.combine(utc_start.date(), dt.time.min, tzinfo=dt.UTC)
    if first_midnight < utc_start:
        first_midnight += dt.timedelta(days=1)
    params = {
        "start": start,
        "first_midnight": first_midnight,
        "first_day": first_midnight.date(),
        "limit": limit,
    }
    rows = _fetch_all(_BY_ITEM_SQL, params)
    return Expiring(
        [
            {
                "item": {"id": item_id, "name": name},
                "count": count,
                "fulfilled": fulfilled,
                "fulfilment_rate": _percent(fulfilled, count),
                "within_target": within_target,
            }
            for item_id, name, count, fulfilled, within_target in rows
        ],
        midnight,
    )


# Month totals per currency and provider: a month's monthly reports, or for an account
# without one that month, the sum of its daily reports (never both).
_CLOUD_SQL = """
WITH reports AS (
    SELECT provider, account, currency, period_type, total_cost,
           date_trunc('month', period_start)::date AS month
    FROM cloud_cloudcostreport
    WHERE period_start >= %(first_month)s AND period_start < %(end_month)s
),
counted AS (
    SELECT r.* FROM reports r
    WHERE r.period_type = 'monthly'
       OR NOT EXISTS (
           SELECT 1 FROM reports m
           WHERE m.period_type = 'monthly' AND m.provider = r.provider
             AND m.account = r.account AND m.month = r.month)
)
SELECT month, currency, provider, sum(total_cost)
FROM counted
GROUP BY month, currency, provider
ORDER BY month, currency, provider
"""


def _months_back(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def cloud_costs(*, months: int = 6) -> Expiring:
    """Per month of the last `months` (this one included, every month present) and
    currency: the total cost (a decimal string), the change on the month before (percent,
    one decimal; None without a cost to compare with) and the split per provider. Right
    until the next local month starts."""
    this_month = timezone.now().astimezone(_tz()).date().replace(day=1)
    first_month = _months_back(this_month, months - 1)
    # One month more, for the first month's change on the one before.
    rows = _fetch_all(
        _CLOUD_SQL,
        {
            "first_month": _months_back(first_month, 1),
            "end_month": _months_back(this_month, -1),
        },
    )
    totals: dict[tuple[dt.date, str], dict[str, Decimal]] = {}
    for month, currency, provider, cost in rows:
        totals.setdefault((month, currency), {})[provider] = cost
    currencies = sorted({currency for _month, currency in totals}) or []
    result = []
    for offset in range(months - 1, -1, -1):
        month = _months_back(this_month, offset)
        previous_month = _months_back(month, 1)
        for currency in currencies:
            providers = totals.get((month, currency), {})
            total = sum(providers.values(), Decimal(0))
            previous = sum(totals.get((previous_month, currency), {}).values(), Decimal(0))
            change = round(float((total - previous) * 100 / previous), 1) if previous else None
            result.append(
                {
                    "month": f"{month:%Y-%m}",
                    "currency": currency,
                    "total_cost": f"{total:.2f}",
                    "change_percent": change,
                    "providers": [
                        {"provider": p, "total_cost": f"{c:.2f}"}
                        for p, c in sorted(providers.items())
                    ],
                }
            )
    next_month = dt.datetime.combine(_months_back(this_month, -1), dt.time.min, tzinfo=_tz())
    return Expiring(result, next_month)
