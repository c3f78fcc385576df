"""Test-only tenant URL conf: the real one (patterns and error handlers) plus crashing views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from firelater.urls import handler400, handler403, handler404, handler500
from firelater.urls import urlpatterns as tenant_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def crashing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a plain view")


class CrashingApiView(APIView):
    required_permissions = ()  # any signed-in user (firelater.permissions)

    def get(self, request: Request) -> Response:
        raise RuntimeError("a bug in an API view")


urlpatterns = [
    *tenant_urlpatterns,
    path("test-crash/", crashing_view),
    path("api/v1/test-crash/", CrashingApiView.as_view()),
]
