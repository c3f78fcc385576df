"""Token login for API clients: POST username and password, get {"token": ...}."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from firelater.renderers import JSONRenderer


class TokenLoginSerializer(AuthTokenSerializer):
    # No username is longer than the model allows; a longer one is a 400, not a database
    # error when the failed attempt is recorded (firelater.lockout).
    username = serializers.CharField(
        label="Username",
        write_only=True,
        max_length=get_user_model()._meta.get_field("username").max_length,
    )


class ObtainTokenView(ObtainAuthToken):
    """DRF's token view, throttled per client address and locked out like every login.

    The serializer authenticates with the Django request (not DRF's wrapper), so
    django-axes counts the attempt and its middleware sees a lockout and answers it with a
    JSON 429 (firelater.lockout). A token issued is a login: `user_logged_in` clears the
    failure count and records last_login, as a password login on a page does.

    Tokens live in the tenant's schema, so a token is only ever valid on its own tenant.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"
    serializer_class = TokenLoginSerializer
    # DRF's view renders plain JSON; its errors must be camelCase like every other endpoint's.
    renderer_classes = [JSONRenderer]
    # DRF's view parses with DRF's plain JSONParser, which a deeply nested body crashed.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "request": self.request._request}

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": token.key})
