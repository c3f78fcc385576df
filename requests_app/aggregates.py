"""The service request counts the dashboard reads, kept by triggers (firelater.aggregates)."""

from __future__ import annotations

from firelater.aggregates import Summary, column, quarter

SOURCE = "requests_app_request"

COUNTS = Summary(
    table="requests_app_summary_counts",
    source=SOURCE,
    columns={
        "status": column("text", "status", "status"),
        "has_due": column("boolean", "due_at IS NOT NULL", "due_at"),
    },
)
# Per UTC quarter hour: requests falling due (per status).
DUE = Summary(
    table="requests_app_summary_due",
    source=SOURCE,
    columns={
        "status": column("text", "status", "status"),
        "quarter": column("timestamptz", quarter("due_at"), "due_at"),
    },
    where="due_at IS NOT NULL",
    where_fields=frozenset({"due_at"}),
    read_index=("status", "quarter"),
)

SUMMARIES = (COUNTS, DUE)
