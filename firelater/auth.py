"""Token login and logout for API clients: POST username and password, get
{"token": ..., "expiresAt": ...}; DELETE with the token ends it.

Tokens are re-issued, not refreshed: a token works for TOKEN_TTL seconds from its
creation; a login while it is valid returns the same token, a login after it expired
replaces it with a new key (rotation), so using a token never writes to the database.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from firelater.authentication import token_expired, token_expires_at
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

    def get_throttles(self) -> list[Any]:
        # Logging out guesses nothing: only logins are throttled.
        return super().get_throttles() if self.request.method == "POST" else []

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "request": self.request._request}

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token = token_issue(user=user)
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})

    @extend_schema(request=None, responses={204: None}, summary="Log the token out")
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """End the token this request was authenticated with (204)."""
        if not request.user.is_authenticated:  # a bad or expired token has raised 401 here
            raise exceptions.NotAuthenticated()
        if not isinstance(request.auth, Token):
            raise exceptions.ValidationError(
                {"detail": "Send the token to log out in the Authorization header."}
            )
        request.auth.delete()
        return Response(status=204)


@transaction.atomic
def token_issue(*, user: Any) -> Token:
    """The user's token: the current one while it is valid, else a new key."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_expired(token):
        return token
    if token is not None:
        token.delete()
    return Token.objects.create(user=user)
