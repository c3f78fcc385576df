"""Token login for API clients: POST username and password, get {"token": ...}."""

from __future__ import annotations

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from firelater.renderers import JSONRenderer


class ObtainTokenView(ObtainAuthToken):
    """DRF's token view, throttled per client address against password guessing.

    Tokens live in the tenant's schema, so a token is only ever valid on its own tenant.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"
    # DRF's view renders plain JSON; its errors must be camelCase like every other endpoint's.
    renderer_classes = [JSONRenderer]
    # DRF's view parses with DRF's plain JSONParser, which a deeply nested body crashed.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES
