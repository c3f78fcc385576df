"""Changes ended per quarter hour (UTC) and outcome, kept exact by statement triggers.

Every time zone's midnight falls on a quarter hour, so the dashboard's per-day success
rate (dashboard/selectors.py) sums these rows into local days without reading the changes.
INSERT, UPDATE and DELETE through any path, bulk or raw, keep it; TRUNCATE empties it.
"""

from django.db import migrations

_DELTA = """
    SELECT date_bin('15 minutes', completed_at, TIMESTAMPTZ '2000-01-01 00:00+00') AS quarter,
           outcome, {sign} AS n
    FROM {rows} WHERE completed_at IS NOT NULL AND outcome IS NOT NULL
"""
_UPSERT = """
    INSERT INTO changes_ended_quarterly AS s (quarter, outcome, n)
    SELECT quarter, outcome, sum(n) FROM ({delta}) d GROUP BY quarter, outcome
    ON CONFLICT (quarter, outcome) DO UPDATE SET n = s.n + EXCLUDED.n;
"""
_NEW = _DELTA.format(sign=1, rows="new_rows")
_OLD = _DELTA.format(sign=-1, rows="old_rows")

SUMMARY_SQL = f"""
CREATE TABLE changes_ended_quarterly (
    quarter timestamptz NOT NULL,
    outcome varchar(20) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (quarter, outcome)
);
CREATE FUNCTION changes_ended_quarterly_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_UPSERT.format(delta=_NEW)}
    ELSIF TG_OP = 'UPDATE' THEN
        {_UPSERT.format(delta=_NEW + " UNION ALL " + _OLD)}
    ELSIF TG_OP = 'DELETE' THEN
        {_UPSERT.format(delta=_OLD)}
    ELSE
        DELETE FROM changes_ended_quarterly;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER changes_ended_quarterly_insert AFTER INSERT ON changes_change
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION changes_ended_quarterly_apply();
CREATE TRIGGER changes_ended_quarterly_update AFTER UPDATE ON changes_change
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION changes_ended_quarterly_apply();
CREATE TRIGGER changes_ended_quarterly_delete AFTER DELETE ON changes_change
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION changes_ended_quarterly_apply();
CREATE TRIGGER changes_ended_quarterly_truncate AFTER TRUNCATE ON changes_change
    FOR EACH STATEMENT EXECUTE FUNCTION changes_ended_quarterly_apply();
INSERT INTO changes_ended_quarterly (quarter, outcome, n)
SELECT quarter, outcome, sum(n)
FROM ({_DELTA.format(sign=1, rows="changes_change")}) d GROUP BY quarter, outcome;
"""

REVERSE_SQL = """
DROP TRIGGER changes_ended_quarterly_insert ON changes_change;
DROP TRIGGER changes_ended_quarterly_update ON changes_change;
DROP TRIGGER changes_ended_quarterly_delete ON changes_change;
DROP TRIGGER changes_ended_quarterly_truncate ON changes_change;
DROP FUNCTION changes_ended_quarterly_apply();
DROP TABLE changes_ended_quarterly;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0004_outcome_and_workflow"),
    ]

    operations = [migrations.RunSQL(SUMMARY_SQL, REVERSE_SQL)]
