"""Service requests per UTC day (of creation) and catalog item, kept exact by triggers.

How many were created, fulfilled, and fulfilled within the item's target: statement
triggers on requests_app_request keep it for every write (bulk or raw), a row trigger on
requests_app_catalogitem recounts an item whose target changes, TRUNCATE empties it. The
dashboard adds the first, partial day of its window from the requests themselves
(dashboard/selectors.py).
"""

from django.db import migrations

_DELTA = """
    SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.catalog_item_id AS item_id,
           {sign} AS n,
           {sign} * (r.fulfilled_at IS NOT NULL)::int AS fulfilled,
           {sign} * coalesce((r.fulfilled_at <= r.created_at
                              + make_interval(hours => c.fulfilment_target_hours))::int, 0)
               AS within_target
    FROM {rows} r JOIN requests_app_catalogitem c ON c.id = r.catalog_item_id
    WHERE r.catalog_item_id IS NOT NULL {where}
"""
_UPSERT = """
    INSERT INTO requests_by_item_daily AS s (day, item_id, n, fulfilled, within_target)
    SELECT day, item_id, sum(n), sum(fulfilled), sum(within_target)
    FROM ({delta}) d GROUP BY day, item_id
    ON CONFLICT (day, item_id) DO UPDATE SET
        n = s.n + EXCLUDED.n,
        fulfilled = s.fulfilled + EXCLUDED.fulfilled,
        within_target = s.within_target + EXCLUDED.within_target;
"""
_NEW = _DELTA.format(sign=1, rows="new_rows", where="")
_OLD = _DELTA.format(sign=-1, rows="old_rows", where="")

SUMMARY_SQL = f"""
CREATE TABLE requests_by_item_daily (
    day date NOT NULL,
    item_id bigint NOT NULL,
    n bigint NOT NULL,
    fulfilled bigint NOT NULL,
    within_target bigint NOT NULL,
    PRIMARY KEY (day, item_id)
);
CREATE FUNCTION requests_by_item_daily_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_UPSERT.format(delta=_NEW)}
    ELSIF TG_OP = 'UPDATE' THEN
        {_UPSERT.format(delta=_NEW + " UNION ALL " + _OLD)}
    ELSIF TG_OP = 'DELETE' THEN
        {_UPSERT.format(delta=_OLD)}
    ELSE
        DELETE FROM requests_by_item_daily;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_by_item_daily_insert AFTER INSERT ON requests_app_request
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION requests_by_item_daily_apply();
CREATE TRIGGER requests_by_item_daily_update AFTER UPDATE ON requests_app_request
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION requests_by_item_daily_apply();
CREATE TRIGGER requests_by_item_daily_delete AFTER DELETE ON requests_app_request
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION requests_by_item_daily_apply();
CREATE TRIGGER requests_by_item_daily_truncate AFTER TRUNCATE ON requests_app_request
    FOR EACH STATEMENT EXECUTE FUNCTION requests_by_item_daily_apply();

-- An item's target decides within_target: recount that item when it changes.
CREATE FUNCTION requests_by_item_daily_retarget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM requests_by_item_daily WHERE item_id = NEW.id;
    INSERT INTO requests_by_item_daily (day, item_id, n, fulfilled, within_target)
    SELECT day, item_id, sum(n), sum(fulfilled), sum(within_target)
    FROM ({_DELTA.format(sign=1, rows="requests_app_request", where="AND r.catalog_item_id = NEW.id")}) d
    GROUP BY day, item_id;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_by_item_daily_retarget
    AFTER UPDATE OF fulfilment_target_hours ON requests_app_catalogitem
    FOR EACH ROW WHEN (OLD.fulfilment_target_hours IS DISTINCT FROM NEW.fulfilment_target_hours)
    EXECUTE FUNCTION requests_by_item_daily_retarget();

INSERT INTO requests_by_item_daily (day, item_id, n, fulfilled, within_target)
SELECT day, item_id, sum(n), sum(fulfilled), sum(within_target)
FROM ({_DELTA.format(sign=1, rows="requests_app_request", where="")}) d GROUP BY day, item_id;
"""

REVERSE_SQL = """
DROP TRIGGER requests_by_item_daily_retarget ON requests_app_catalogitem;
DROP FUNCTION requests_by_item_daily_retarget();
DROP TRIGGER requests_by_item_daily_insert ON requests_app_request;
DROP TRIGGER requests_by_item_daily_update ON requests_app_request;
DROP TRIGGER requests_by_item_daily_delete ON requests_app_request;
DROP TRIGGER requests_by_item_daily_truncate ON requests_app_request;
DROP FUNCTION requests_by_item_daily_apply();
DROP TABLE requests_by_item_daily;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0003_catalog_items"),
    ]

    operations = [migrations.RunSQL(SUMMARY_SQL, REVERSE_SQL)]
