"""Triggers that announce tenant and domain changes to every process (firelater.revocation).

A changed or deleted tenant row notifies 'tenant:<schema>' (its tokens and all host routes
are forgotten), any domain write 'routing' (host routes, including remembered unknown
hosts). Public schema only, like the tables.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION firelater_notify_tenant_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('firelater_revocation', 'tenant:' || OLD.schema_name);
    ELSE
        PERFORM pg_notify('firelater_revocation', 'tenant:' || NEW.schema_name);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION firelater_notify_routing_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('firelater_revocation', 'routing');
    RETURN NULL;
END;
$$;

CREATE TRIGGER firelater_revocation_tenant_update
    AFTER UPDATE ON tenants_tenant FOR EACH ROW
    WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION firelater_notify_tenant_change();
CREATE TRIGGER firelater_revocation_tenant_delete
    AFTER DELETE ON tenants_tenant FOR EACH ROW
    EXECUTE FUNCTION firelater_notify_tenant_change();
CREATE TRIGGER firelater_revocation_domain_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants_domain FOR EACH STATEMENT
    EXECUTE FUNCTION firelater_notify_routing_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS firelater_revocation_tenant_update ON tenants_tenant;
DROP TRIGGER IF EXISTS firelater_revocation_tenant_delete ON tenants_tenant;
DROP TRIGGER IF EXISTS firelater_revocation_domain_change ON tenants_domain;
DROP FUNCTION IF EXISTS firelater_notify_tenant_change();
DROP FUNCTION IF EXISTS firelater_notify_routing_change();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_deferred_cache_invalidation")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
