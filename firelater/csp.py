"""Content-Security-Policy: django-csp's middleware, and what the packages' pages need.

The policy (settings.CONTENT_SECURITY_POLICY) is strict everywhere: scripts and styles
from this origin only, no inline script at all. FireLater's own templates need nothing
more. The pages of other packages get exactly what they need, no more:

- the inline <style> elements they render (DRF's code highlighting, Swagger UI's page
  style) carry the request's nonce: style-src lists csp.constants.NONCE, which django-csp
  sends only when a page used the nonce;
- DRF's browsable API templates put style="" attributes in their markup: its responses
  (and only those) allow inline style *attributes* (style-src-attr), never <style> or
  script. Its logout link's inline onclick is replaced (templates/rest_framework/api.html);
- Redoc's page allows what its bundle does (firelater.api_docs.REDOC_POLICY).
"""

from __future__ import annotations

from typing import Any

from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.middleware import PolicyParts
from django.http import HttpRequest, HttpResponseBase
from rest_framework.renderers import BrowsableAPIRenderer

BROWSABLE_API_EXTRA: dict[str, Any] = {"style-src-attr": ["'unsafe-inline'"]}


class CSPMiddleware(DjangoCSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
            parts.update = {**(parts.update or {}), **BROWSABLE_API_EXTRA}
        return parts
