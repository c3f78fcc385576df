"""Service requests per UTC day (of creation) and catalog item, kept exact by triggers.

How many were created, fulfilled, and fulfilled within the item's target: statement
triggers on requests_app_request keep it for every write (bulk or raw; insert-only delta
rows, folded: firelater.aggregates.MeasuredSummary), a row trigger on
requests_app_catalogitem recounts an item whose target changes, TRUNCATE empties it. The
dashboard adds the first, partial day of its window from the requests themselves
(dashboard/selectors.py).
"""

from django.db import migrations

from requests_app.aggregates import BY_ITEM_DAILY

SUMMARY = BY_ITEM_DAILY
_ITEM_ROWS = SUMMARY.delta_sql("requests_app_request", 1, "AND r.catalog_item_id = NEW.id")

# An item's target decides within_target: recount that item when it changes (under the
# folds' lock, so no fold moves the item's rows meanwhile).
RETARGET_SQL = f"""
CREATE FUNCTION requests_by_item_daily_retarget() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({SUMMARY.lock_sql});
    DELETE FROM requests_by_item_daily WHERE item_id = NEW.id;
    {SUMMARY.insert_sql(_ITEM_ROWS, compact=True)};
    RETURN NULL;
END $$;
CREATE TRIGGER requests_by_item_daily_retarget
    AFTER UPDATE OF fulfilment_target_hours ON requests_app_catalogitem
    FOR EACH ROW WHEN (OLD.fulfilment_target_hours IS DISTINCT FROM NEW.fulfilment_target_hours)
    EXECUTE FUNCTION requests_by_item_daily_retarget();
"""
SUMMARY_SQL = SUMMARY.install_sql() + RETARGET_SQL
REVERSE_SQL = (
    "DROP TRIGGER requests_by_item_daily_retarget ON requests_app_catalogitem;\n"
    "DROP FUNCTION requests_by_item_daily_retarget();\n" + SUMMARY.uninstall_sql()
)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0003_catalog_items"),
    ]

    operations = [migrations.RunSQL(SUMMARY_SQL, REVERSE_SQL)]
