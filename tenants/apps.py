from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from firelater.authentication import connect_token_cache_signals
        from tenants import signals  # noqa: F401  (connects the tenant-lookup cache flush)

        connect_token_cache_signals()
