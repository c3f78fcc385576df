"""The change counts the dashboard reads, kept by triggers (firelater.aggregates).

Grouped by the status text itself, so a new status needs no new summary."""

from __future__ import annotations

from firelater.aggregates import Summary, column, quarter

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
