"""URLs of a tenant host (<slug>.localhost): admin, API, dashboard."""

from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import APIRootView, DefaultRouter

from applications.views import ApplicationViewSet
from changes.views import ChangeViewSet
from cloud.views import CloudCostReportViewSet
from dashboard.pages import dashboard_page
from dashboard.views import DashboardViewSet
from firelater.admin import LoginAttemptAdmin, UserAdmin
from firelater.api_docs import SwaggerView, redoc_view
from firelater.auth import ObtainTokenView
from issues.views import IssueViewSet
from requests_app.views import CatalogItemViewSet, RequestViewSet


class Router(DefaultRouter):
    class APIRootView(APIRootView):
        """The browsable API's index: a list of links, for any signed-in user."""

        required_permissions = ()


# "/?": a POST without the trailing slash must not become a body-losing 301 redirect.
router = Router()
router.trailing_slash = "/?"
router.register("issues", IssueViewSet, basename="issue")
router.register("requests", RequestViewSet, basename="request")
router.register("changes", ChangeViewSet, basename="change")
router.register("applications", ApplicationViewSet, basename="application")
router.register("catalog-items", CatalogItemViewSet, basename="catalog-item")
router.register("cloud-costs", CloudCostReportViewSet, basename="cloud-cost")
router.register("dashboard", DashboardViewSet, basename="dashboard")

admin.site.site_header = "FireLater"
admin.site.site_title = "FireLater"
admin.site.index_template = "admin/firelater_index.html"  # adds the Cache page
admin.site.unregister(get_user_model())  # django.contrib.auth's, for ours (date-time inputs)
admin.site.register(get_user_model(), UserAdmin)
admin.site.register(AccessAttempt, LoginAttemptAdmin)  # this tenant's failed logins and locks

urlpatterns = [
    path("", dashboard_page, name="dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, next_page="dashboard"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("", include("tenant_cache.urls")),  # the admin's Cache page and the cache API
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/v1/", include(router.urls)),
    path("api-auth/", include("rest_framework.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", redoc_view("schema"), name="api-redoc"),
]

handler400 = "firelater.api.json_bad_request"
handler403 = "firelater.api.json_permission_denied"
handler404 = "firelater.api.json_not_found"
handler500 = "firelater.api.json_server_error"
