"""The service request counts the dashboard reads, kept by triggers (firelater.aggregates)."""

from __future__ import annotations

from firelater.aggregates import MeasuredSummary, Summary, column, quarter

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

# Requests by catalog item (#14): per UTC day of creation and item, created, fulfilled and
# fulfilled within the item's target (requests_app 0004).
_BY_ITEM_DAILY_DELTA = """
    SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.catalog_item_id AS item_id,
           {sign} AS n,
           {sign} * (r.fulfilled_at IS NOT NULL)::int AS fulfilled,
           {sign} * coalesce((r.fulfilled_at <= r.created_at
                              + make_interval(hours => c.fulfilment_target_hours))::int, 0)
               AS within_target
    FROM {rows} r JOIN requests_app_catalogitem c ON c.id = r.catalog_item_id
    WHERE r.catalog_item_id IS NOT NULL {where}
"""
BY_ITEM_DAILY = MeasuredSummary(
    table="requests_by_item_daily",
    source="requests_app_request",
    keys={"day": "date", "item_id": "bigint"},
    measures=("n", "fulfilled", "within_target"),
    delta=_BY_ITEM_DAILY_DELTA,
)
