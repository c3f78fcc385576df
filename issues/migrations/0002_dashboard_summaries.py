"""The dashboard's issue summaries (issues.aggregates): tables, triggers, backfill; and the
partial index over open issues' SLAs."""

from django.db import migrations, models

from firelater.aggregates import install_sql, uninstall_sql
from issues.aggregates import SUMMARIES


# The activity feed's "updated" branch: its condition is this predicate, word for word, so
# its newest rows are the head of this index (dashboard.selectors._activity_branch).
ACTIVITY_INDEXES = """
CREATE INDEX issue_activity_updated_idx ON issues_issue (updated_at)
WHERE updated_at - created_at > interval '1 second' AND updated_at IS DISTINCT FROM resolved_at
"""
DROP_ACTIVITY_INDEXES = "DROP INDEX IF EXISTS issue_activity_updated_idx"

class Migration(migrations.Migration):
    dependencies = [
        ("issues", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="issue",
            index=models.Index(
                condition=models.Q(("status__in", ("new", "assigned", "in_progress", "pending"))),
                fields=["sla_due_at"],
                name="issue_open_sla_idx",
            ),
        ),
        migrations.RunSQL(install_sql(SUMMARIES), uninstall_sql(SUMMARIES)),
        migrations.RunSQL(ACTIVITY_INDEXES, DROP_ACTIVITY_INDEXES),
    ]
