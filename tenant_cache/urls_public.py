"""URL patterns of the platform host's cache administration (every tenant's figures)."""

from django.urls import re_path

from tenant_cache.api import PlatformCacheInvalidateView, PlatformCacheStatsView

urlpatterns = [
    re_path(r"^api/admin/cache/stats/?$", PlatformCacheStatsView.as_view(), name="cache-stats"),
    re_path(
        r"^api/admin/cache/invalidate/?$",
        PlatformCacheInvalidateView.as_view(),
        name="cache-invalidate",
    ),
]
