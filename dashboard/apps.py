from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from dashboard import entries, signals  # noqa: F401  (registers the cache entries)

        signals.connect()
