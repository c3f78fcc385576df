"""Triggers that announce changes to this schema's users and tokens (firelater.revocation).

Installed in every schema (the app is shared and per tenant, like auth and authtoken): a
notification on channel firelater_revocation, payload 'auth:<schema>', for any change to a
user but its last_login (written by every login), any change to a token, deletes and
truncates; whatever wrote it (save, QuerySet.update, raw SQL). PostgreSQL delivers it on
commit, once per transaction.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION firelater_notify_auth_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('firelater_revocation', 'auth:' || TG_TABLE_SCHEMA);
    RETURN NULL;
END;
$$;

CREATE TRIGGER firelater_revocation_user_update
    AFTER UPDATE ON auth_user FOR EACH ROW
    WHEN (to_jsonb(OLD) - 'last_login' IS DISTINCT FROM to_jsonb(NEW) - 'last_login')
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_user_delete
    AFTER DELETE ON auth_user FOR EACH ROW
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_user_truncate
    AFTER TRUNCATE ON auth_user FOR EACH STATEMENT
    EXECUTE FUNCTION firelater_notify_auth_change();

CREATE TRIGGER firelater_revocation_token_change
    AFTER UPDATE OR DELETE ON authtoken_token FOR EACH ROW
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_token_truncate
    AFTER TRUNCATE ON authtoken_token FOR EACH STATEMENT
    EXECUTE FUNCTION firelater_notify_auth_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS firelater_revocation_user_update ON auth_user;
DROP TRIGGER IF EXISTS firelater_revocation_user_delete ON auth_user;
DROP TRIGGER IF EXISTS firelater_revocation_user_truncate ON auth_user;
DROP TRIGGER IF EXISTS firelater_revocation_token_change ON authtoken_token;
DROP TRIGGER IF EXISTS firelater_revocation_token_truncate ON authtoken_token;
DROP FUNCTION IF EXISTS firelater_notify_auth_change();
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
