"""URL patterns of the cache's administration on a tenant host.

Include them before admin.site.urls (they add the admin's /admin/cache/ page):
``path("", include("tenant_cache.urls"))``; the platform host includes
``tenant_cache.urls_public`` instead.
"""

from django.contrib import admin
from django.urls import path, re_path

from tenant_cache.admin import cache_admin_page
from tenant_cache.api import CacheInvalidateView, CacheStatsView

urlpatterns = [
    path("admin/cache/", admin.site.admin_view(cache_admin_page), name="admin-cache"),
    re_path(r"^api/admin/cache/stats/?$", CacheStatsView.as_view(), name="cache-stats"),
    re_path(
        r"^api/admin/cache/invalidate/?$", CacheInvalidateView.as_view(), name="cache-invalidate"
    ),
]
