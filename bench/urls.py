"""Bench URLs of a tenant host: the product's own, plus the bench-only endpoints."""

from django.urls import path

from bench import views
from firelater.urls import handler400, handler403, handler404, handler500  # noqa: F401
from firelater.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/floor/", views.floor, name="bench-floor"),
    path("bench/trivial/", views.TrivialView.as_view(), name="bench-trivial"),
    path("bench/tenant-json/", views.tenant_json, name="bench-tenant-json"),
    path("bench/drf-anon/", views.DrfAnonymousView.as_view(), name="bench-drf-anon"),
    path("bench/nocache/overview/", views.NoCacheOverview.as_view(), name="bench-nocache"),
    path("bench/cachepage/overview/", views.CachePageOverview.as_view(), name="bench-cachepage"),
    path("bench/cachalot/overview/", views.OrmOverview.as_view(), name="bench-cachalot"),
    *product_urlpatterns,
]
