"""Token login for API clients: POST username and password, get {"token": ...}."""

from __future__ import annotations

from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


class ObtainTokenView(ObtainAuthToken):
    """DRF's token view, throttled per client address against password guessing.

    Tokens live in the tenant's schema, so a token is only ever valid on its own tenant.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"
    # DRF's view renders plain JSON; its errors must be camelCase like every other endpoint's.
    renderer_classes = [CamelCaseJSONRenderer]
