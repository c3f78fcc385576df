"""The dashboard's change summaries (changes.aggregates): tables, triggers, backfill."""

from django.db import migrations

from changes.aggregates import SUMMARIES
from firelater.aggregates import install_sql, uninstall_sql


# The activity feed's "updated" branch: its condition is this predicate, word for word
# (dashboard.selectors._activity_branch).
ACTIVITY_INDEXES = """
CREATE INDEX change_activity_updated_idx ON changes_change (updated_at)
WHERE updated_at - created_at > interval '1 second'
"""
DROP_ACTIVITY_INDEXES = "DROP INDEX IF EXISTS change_activity_updated_idx"

class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0002_change_approve_permission"),
    ]

    operations = [
        migrations.RunSQL(install_sql(SUMMARIES), uninstall_sql(SUMMARIES)),
        migrations.RunSQL(ACTIVITY_INDEXES, DROP_ACTIVITY_INDEXES),
    ]
