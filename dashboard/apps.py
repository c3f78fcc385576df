from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        import tenant_cache
        from dashboard import checks  # noqa: F401  (registers them)
        from dashboard.entries import WATCHED  # registers the entries

        for model, data_category in WATCHED.items():
            tenant_cache.watch(model, data_category)
