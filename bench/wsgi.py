"""The bench's WSGI entry point: the product's app, and /bench/floor/ without tenancy.

/bench/floor/ goes to a second Django handler in the same process, built from the same
settings but with django-tenants' middleware left out of its chain: no host -> tenant
lookup, no search_path, no auth (the view needs none). Everything else about it (Python,
gunicorn flags, settings, the remaining middleware) is what the product endpoints get, so
its requests/s is the framework's floor on this box, measured beside them.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
product_application = get_wsgi_application()

FLOOR_PATH = "/bench/floor/"
TENANT_MIDDLEWARE = "tenants.middleware.TenantMiddleware"


class FloorHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        without_tenancy = [m for m in settings.MIDDLEWARE if m != TENANT_MIDDLEWARE]
        with override_settings(MIDDLEWARE=without_tenancy):
            super().load_middleware(is_async)


floor_application = FloorHandler()


def application(environ: dict[str, Any], start_response: Any) -> Any:
    if environ.get("PATH_INFO") == FLOOR_PATH:
        return floor_application(environ, start_response)
    return product_application(environ, start_response)
