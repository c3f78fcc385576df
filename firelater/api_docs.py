"""The API docs pages (Swagger UI, Redoc) under the Content-Security-Policy (firelater.csp).

Their own module: drf-spectacular's views module reads DEFAULT_SCHEMA_CLASS, which is
firelater.openapi's, when imported.
"""

from __future__ import annotations

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# Redoc's bundle injects its CSS as <style> elements, some while it loads, before any
# nonce can reach it; it searches in a worker made from a blob: URL, and its sidebar shows
# Redocly's logo from their CDN. This page (only) allows these; its scripts stay 'self'.
# It renders nothing but the API schema, which is the server's own text.
REDOC_POLICY = {
    "style-src": [SELF, UNSAFE_INLINE],
    "worker-src": [SELF, "blob:"],
    "img-src": ["https://cdn.redoc.ly/redoc/logo-mini.svg"],
}


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served as a file (drf-spectacular's split view),
    and its page style carrying the CSP nonce: no inline script."""

    template_name = "firelater/swagger_ui.html"


class RedocView(SpectacularRedocView):
    """Redoc started by a static script (static/firelater/redoc-init.js), without web fonts
    from another origin."""

    template_name = "firelater/redoc.html"


def redoc_view(url_name: str) -> object:
    return csp_update(REDOC_POLICY)(RedocView.as_view(url_name=url_name))
