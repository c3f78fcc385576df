"""Changes ended per quarter hour (UTC) and outcome, kept exact by statement triggers.

Every time zone's midnight falls on a quarter hour, so the dashboard's per-day success
rate (dashboard/selectors.py) sums these rows into local days without reading the changes.
INSERT, UPDATE and DELETE through any path, bulk or raw, keep it (insert-only delta rows,
folded: firelater.aggregates.MeasuredSummary); TRUNCATE empties it.
"""

from django.db import migrations

from changes.aggregates import ENDED_QUARTERLY

SUMMARY = ENDED_QUARTERLY
SUMMARY_SQL = SUMMARY.install_sql()
REVERSE_SQL = SUMMARY.uninstall_sql()


class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0004_outcome_and_workflow"),
    ]

    operations = [migrations.RunSQL(SUMMARY_SQL, REVERSE_SQL)]
