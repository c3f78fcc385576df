"""The change counts the dashboard reads, kept by triggers (firelater.aggregates).

Grouped by the status text itself, so a new status needs no new summary."""

from __future__ import annotations

from firelater.aggregates import MeasuredSummary, Summary, column, quarter

SOURCE = "changes_change"

COUNTS = Summary(
    table="changes_summary_counts",
    source=SOURCE,
    columns={"status": column("text", "status", "status")},
)
# Per UTC quarter hour: changes scheduled to start (per status).
SCHEDULED = Summary(
    table="changes_summary_scheduled",
    source=SOURCE,
    columns={
        "status": column("text", "status", "status"),
        "quarter": column("timestamptz", quarter("scheduled_start"), "scheduled_start"),
    },
    where="scheduled_start IS NOT NULL",
    where_fields=frozenset({"scheduled_start"}),
    read_index=("status", "quarter"),
)

SUMMARIES = (COUNTS, SCHEDULED)

# Change success (#14): changes ended per UTC quarter hour and outcome (changes 0005).
_ENDED_QUARTERLY_DELTA = """
    SELECT date_bin('15 minutes', completed_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS quarter,
           outcome, {sign} AS n
    FROM {rows} WHERE completed_at IS NOT NULL AND outcome IS NOT NULL
"""
ENDED_QUARTERLY = MeasuredSummary(
    table="changes_ended_quarterly",
    source="changes_change",
    keys={"quarter": "timestamptz", "outcome": "varchar(20)"},
    measures=("n",),
    delta=_ENDED_QUARTERLY_DELTA,
)
