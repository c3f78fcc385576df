"""The dashboard's request summaries (requests_app.aggregates): tables, triggers, backfill;
and the partial index over open requests' due times."""

from django.db import migrations, models

from firelater.aggregates import install_sql, uninstall_sql
from requests_app.aggregates import SUMMARIES


# The activity feed's "updated" and "fulfilled" branches: their conditions are these
# predicates, word for word (dashboard.selectors._activity_branch).
ACTIVITY_INDEXES = """
CREATE INDEX request_activity_updated_idx ON requests_app_request (updated_at)
WHERE updated_at - created_at > interval '1 second' AND updated_at IS DISTINCT FROM fulfilled_at;
CREATE INDEX request_activity_fulfilled_idx ON requests_app_request (fulfilled_at)
WHERE fulfilled_at IS NOT NULL
"""
DROP_ACTIVITY_INDEXES = """
DROP INDEX IF EXISTS request_activity_updated_idx;
DROP INDEX IF EXISTS request_activity_fulfilled_idx
"""

class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ("submitted", "pending_approval", "approved", "in_progress"))
                ),
                fields=["due_at"],
                name="request_open_due_idx",
            ),
        ),
        migrations.RunSQL(install_sql(SUMMARIES), uninstall_sql(SUMMARIES)),
        migrations.RunSQL(ACTIVITY_INDEXES, DROP_ACTIVITY_INDEXES),
    ]
