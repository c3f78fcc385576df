from django.apps import AppConfig


class TenantCacheConfig(AppConfig):
    name = "tenant_cache"
    verbose_name = "Tenant cache"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenant_cache import checks  # noqa: F401  (registers the system checks)
        from tenant_cache.receivers import connect_tenant_model

        connect_tenant_model()
