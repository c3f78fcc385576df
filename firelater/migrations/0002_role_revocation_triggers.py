"""Roles and revocation: a role removed or a user deactivated ends their tokens, and any
change to roles or permissions is announced like a change to users (firelater.revocation).

In the database, so every path is covered (the admin, `user.groups.remove`, a queryset
delete of the through rows, raw SQL): removing a user from a group (a role) and turning
off `is_active` delete the user's tokens in the same transaction; the token triggers of
0001 then notify every process. Adding a role, and any change to a group's or a user's
permissions, notify `auth:<schema>` too, so the permissions the token cache keeps with a
user are read again. The tables are named by TG_TABLE_SCHEMA: a trigger never touches
another schema's tokens, whatever the session's search_path.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION firelater_revoke_tokens_of_old_member() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I.authtoken_token WHERE user_id = $1', TG_TABLE_SCHEMA)
        USING OLD.user_id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION firelater_revoke_tokens_of_every_member() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I.authtoken_token', TG_TABLE_SCHEMA);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION firelater_revoke_tokens_of_deactivated_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %I.authtoken_token WHERE user_id = $1', TG_TABLE_SCHEMA)
        USING NEW.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER firelater_revocation_role_removed
    AFTER UPDATE OR DELETE ON auth_user_groups FOR EACH ROW
    EXECUTE FUNCTION firelater_revoke_tokens_of_old_member();
CREATE TRIGGER firelater_revocation_roles_truncated
    AFTER TRUNCATE ON auth_user_groups FOR EACH STATEMENT
    EXECUTE FUNCTION firelater_revoke_tokens_of_every_member();
CREATE TRIGGER firelater_revocation_user_deactivated
    AFTER UPDATE OF is_active ON auth_user FOR EACH ROW
    WHEN (OLD.is_active AND NOT NEW.is_active)
    EXECUTE FUNCTION firelater_revoke_tokens_of_deactivated_user();

CREATE TRIGGER firelater_revocation_role_change
    AFTER INSERT OR UPDATE OR DELETE ON auth_user_groups FOR EACH ROW
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_role_truncate
    AFTER TRUNCATE ON auth_user_groups FOR EACH STATEMENT
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_group_permission_change
    AFTER INSERT OR UPDATE OR DELETE ON auth_group_permissions FOR EACH ROW
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_group_permission_truncate
    AFTER TRUNCATE ON auth_group_permissions FOR EACH STATEMENT
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_user_permission_change
    AFTER INSERT OR UPDATE OR DELETE ON auth_user_user_permissions FOR EACH ROW
    EXECUTE FUNCTION firelater_notify_auth_change();
CREATE TRIGGER firelater_revocation_user_permission_truncate
    AFTER TRUNCATE ON auth_user_user_permissions FOR EACH STATEMENT
    EXECUTE FUNCTION firelater_notify_auth_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS firelater_revocation_role_removed ON auth_user_groups;
DROP TRIGGER IF EXISTS firelater_revocation_roles_truncated ON auth_user_groups;
DROP TRIGGER IF EXISTS firelater_revocation_user_deactivated ON auth_user;
DROP TRIGGER IF EXISTS firelater_revocation_role_change ON auth_user_groups;
DROP TRIGGER IF EXISTS firelater_revocation_role_truncate ON auth_user_groups;
DROP TRIGGER IF EXISTS firelater_revocation_group_permission_change ON auth_group_permissions;
DROP TRIGGER IF EXISTS firelater_revocation_group_permission_truncate ON auth_group_permissions;
DROP TRIGGER IF EXISTS firelater_revocation_user_permission_change ON auth_user_user_permissions;
DROP TRIGGER IF EXISTS firelater_revocation_user_permission_truncate
    ON auth_user_user_permissions;
DROP FUNCTION IF EXISTS firelater_revoke_tokens_of_old_member();
DROP FUNCTION IF EXISTS firelater_revoke_tokens_of_every_member();
DROP FUNCTION IF EXISTS firelater_revoke_tokens_of_deactivated_user();
"""


class Migration(migrations.Migration):
    dependencies = [("firelater", "0001_revocation_triggers")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
