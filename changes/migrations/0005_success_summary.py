"""Changes ended per quarter hour (UTC) and outcome, kept exact by statement triggers.

Every time zone's midnight falls on a quarter hour, so the dashboard's per-day success
rate (dashboard/selectors.py) sums these rows into local days without reading the changes.
INSERT, UPDATE and DELETE through any path, bulk or raw, keep it (insert-only delta rows,
folded: firelater.aggregates.MeasuredSummary); TRUNCATE empties it.
"""

from django.db import migrations

from firelater.aggregates import MeasuredSummary

_DELTA = """
    SELECT date_bin('15 minutes', completed_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS quarter,
           outcome, {sign} AS n
    FROM {rows} WHERE completed_at IS NOT NULL AND outcome IS NOT NULL
"""
SUMMARY = MeasuredSummary(
    table="changes_ended_quarterly",
    source="changes_change",
    keys={"quarter": "timestamptz", "outcome": "varchar(20)"},
    measures=("n",),
    delta=_DELTA,
)
SUMMARY_SQL = SUMMARY.install_sql()
REVERSE_SQL = SUMMARY.uninstall_sql()


class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0004_outcome_and_workflow"),
    ]

    operations = [migrations.RunSQL(SUMMARY_SQL, REVERSE_SQL)]
