"""The issue counts the dashboard reads, kept by triggers (firelater.aggregates)."""

from __future__ import annotations

from firelater.aggregates import MeasuredSummary, Summary, column, quarter

SOURCE = "issues_issue"

COUNTS = Summary(
    table="issues_summary_counts",
    source=SOURCE,
    columns={
        "status": column("text", "status", "status"),
        "priority": column("text", "priority", "priority"),
        "has_sla": column("boolean", "sla_due_at IS NOT NULL", "sla_due_at"),
    },
)
# Per UTC quarter hour: issues created, resolved, and SLAs falling due (per status).
CREATED = Summary(
    table="issues_summary_created",
    source=SOURCE,
    columns={"quarter": column("timestamptz", quarter("created_at"), "created_at")},
    read_index=("quarter",),
)
RESOLVED = Summary(
    table="issues_summary_resolved",
    source=SOURCE,
    columns={"quarter": column("timestamptz", quarter("resolved_at"), "resolved_at")},
    where="resolved_at IS NOT NULL",
    where_fields=frozenset({"resolved_at"}),
    read_index=("quarter",),
)
SLA_DUE = Summary(
    table="issues_summary_sla_due",
    source=SOURCE,
    columns={
        "status": column("text", "status", "status"),
        "quarter": column("timestamptz", quarter("sla_due_at"), "sla_due_at"),
    },
    where="sla_due_at IS NOT NULL",
    where_fields=frozenset({"sla_due_at"}),
    read_index=("status", "quarter"),
)

SUMMARIES = (COUNTS, CREATED, RESOLVED, SLA_DUE)

# SLA compliance (#14): per UTC hour of creation and priority, issues with an SLA, those
# resolved after it and those unresolved (issues migration 0003).
_SLA_HOURLY_DELTA = """
    SELECT date_trunc('hour', created_at, 'UTC') AS hour, priority,
           {sign} AS with_sla,
           {sign} * coalesce((resolved_at > sla_due_at)::int, 0) AS resolved_late,
           {sign} * (resolved_at IS NULL)::int AS unresolved
    FROM {rows} WHERE sla_due_at IS NOT NULL
"""
SLA_HOURLY = MeasuredSummary(
    table="issues_sla_hourly",
    source="issues_issue",
    keys={"hour": "timestamptz", "priority": "varchar(10)"},
    measures=("with_sla", "resolved_late", "unresolved"),
    delta=_SLA_HOURLY_DELTA,
)
