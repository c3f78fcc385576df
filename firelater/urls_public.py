"""URLs of the platform host (public schema): tenant management only, no tenant data."""

from django.urls import include, path
from django.views.generic import RedirectView

from firelater.auth import ObtainTokenView
from tenants.admin import platform_admin_site

urlpatterns = [
    # The platform's home (and LOGIN_REDIRECT_URL) is its admin.
    path("", RedirectView.as_view(pattern_name="platform_admin:index"), name="home"),
    path("admin/", platform_admin_site.urls),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("", include("tenant_cache.urls_public")),
]

handler400 = "firelater.api.json_bad_request"
handler403 = "firelater.api.json_permission_denied"
handler404 = "firelater.api.json_not_found"
handler500 = "firelater.api.json_server_error"
