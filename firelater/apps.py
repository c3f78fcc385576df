from django.apps import AppConfig


class FireLaterConfig(AppConfig):
    """Project-wide plumbing that needs an app: the revocation triggers' migrations (in every
    schema, like the users and tokens they watch) and the receivers of auth changes."""

    name = "firelater"
    verbose_name = "FireLater"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_started
        from django.db.models.signals import post_migrate

        from firelater import revocation
        from firelater.authentication import connect_token_cache_signals
        from firelater.roles import ensure_roles_after_migrate

        connect_token_cache_signals()
        # Server processes start their listener with their first request (after any fork).
        request_started.connect(revocation.ensure_listener, dispatch_uid="revocation-listener")
        # Every migrate of a tenant schema (a new tenant's, or an old one's) syncs its roles.
        post_migrate.connect(ensure_roles_after_migrate, dispatch_uid="firelater-roles")
