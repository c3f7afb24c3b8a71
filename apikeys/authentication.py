"""DRF authentication by API token: ``Authorization: Token <key>`` or ``Authorization: Bearer <key>``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import APIToken
from .services import api_key_hash, api_token_used
from .throttling import anonymous_request_throttle

_KEYWORDS = (b"token", b"bearer")


class APITokenAuthentication(authentication.BaseAuthentication):
    """Looks the key's hash up; a revoked, expired or unknown key (or an inactive user) gets 401."""

    def authenticate(self, request: Request) -> tuple[Any, APIToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in _KEYWORDS:
            return None  # not ours: let session authentication try
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: use 'Token <key>' or 'Bearer <key>'.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        now = timezone.now()
        token = (
            APIToken.objects.select_related("user")
            .filter(key_hash=api_key_hash(key), revoked_at__isnull=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .first()
        )
        if token is None or not token.user.is_active:
            anonymous_request_throttle(request)  # a guessed key counts as an anonymous request (429 past the budget)
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        api_token_used(token=token, now=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Having a challenge is what makes DRF answer 401 (not 403) to an unauthenticated request.
        return 'Token realm="api"'


class AnonymousThrottleAuthentication(authentication.BaseAuthentication):
    """Last in DEFAULT_AUTHENTICATION_CLASSES: reached only by a request no authenticator recognised
    (no token, no session). Authenticates nobody; counts the request against the anonymous budget.
    """

    def authenticate(self, request: Request) -> None:
        anonymous_request_throttle(request)
        return None


class APITokenScheme(OpenApiAuthenticationExtension):
    """How the token appears in the OpenAPI document (Swagger UI's Authorize button)."""

    target_class = "apikeys.authentication.APITokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token created by an admin: `Authorization: Bearer <key>` "
            "(or `Authorization: Token <key>`).",
        }


class AnonymousThrottleScheme(OpenApiAuthenticationExtension):
    """The throttling authenticator authenticates nobody: no security scheme in the OpenAPI document."""

    target_class = "apikeys.authentication.AnonymousThrottleAuthentication"
    name: list[str] = []

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return []

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return []
