"""Throttling per token (per user for browser sessions, per address for anonymous requests and bad keys)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import APIToken


class TokenRateThrottle(SimpleRateThrottle):
    """A fixed-window budget per token: the token's own ``throttle_rate`` or CSMS_API_THROTTLE_RATE.

    Counters live in the default cache (Redis), so every web process shares them.
    """

    scope = "api"

    def __init__(self) -> None:
        # The rate depends on the request's token, so it is read in allow_request, not here.
        self.rate: str | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        token = request.auth if isinstance(request.auth, APIToken) else None
        self.rate = (token.throttle_rate if token else "") or settings.CSMS_API_THROTTLE_RATE or None
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, APIToken):
            # The hash, not the primary key: keys never repeat, ids can (a restored database).
            ident = f"token:{request.auth.key_hash[:24]}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"


class AnonymousRateThrottle(SimpleRateThrottle):
    """A fixed-window budget per client address for requests without valid credentials
    (CSMS_API_ANON_THROTTLE_RATE; empty: unlimited).

    DRF checks permissions before throttles, so an unauthenticated request is refused (401) before any
    throttle runs: this one is checked during authentication instead (``anonymous_request_throttle``), by
    the last authenticator (no credentials at all) and by the token authenticator (a key that matches
    nothing). Guessing keys, or hammering the API without any, is then bounded per address.
    """

    scope = "anon"

    def __init__(self) -> None:
        self.rate: str | None = settings.CSMS_API_ANON_THROTTLE_RATE or None
        if self.rate is not None:
            self.num_requests, self.duration = self.parse_rate(self.rate)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"throttle:{self.scope}:ip:{self.get_ident(request)}"


def anonymous_request_throttle(request: Request) -> None:
    """Count one request without valid credentials; raise Throttled (429) past the budget."""
    throttle = AnonymousRateThrottle()
    if not throttle.allow_request(request, None):
        raise exceptions.Throttled(wait=throttle.wait())
