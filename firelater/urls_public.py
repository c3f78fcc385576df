"""URLs of the platform host (public schema): tenant management only, no tenant data."""

from django.urls import path

from tenants.admin import platform_admin_site

urlpatterns = [
    path("admin/", platform_admin_site.urls),
]

handler400 = "firelater.api.json_bad_request"
handler403 = "firelater.api.json_permission_denied"
handler404 = "firelater.api.json_not_found"
handler500 = "firelater.api.json_server_error"
