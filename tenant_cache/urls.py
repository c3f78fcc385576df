"""URL patterns of the cache's administration, for a project's two URLconfs.

# a tenant host's urls.py
path("", include("tenant_cache.urls"))            # /api/admin/cache/{stats,invalidate}
# admin page, before admin.site.urls:
path("admin/cache/", admin.site.admin_view(cache_admin_page), name="admin-cache")
# the public (platform) host's urls.py
path("", include("tenant_cache.urls_public"))
"""

from django.urls import re_path

from tenant_cache.api import CacheInvalidateView, CacheStatsView

urlpatterns = [
    re_path(r"^api/admin/cache/stats/?$", CacheStatsView.as_view(), name="cache-stats"),
    re_path(
        r"^api/admin/cache/invalidate/?$", CacheInvalidateView.as_view(), name="cache-invalidate"
    ),
]
