"""API tokens: what a machine presents instead of a password. Only a hash of the key is stored."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

rate_validator = RegexValidator(
    r"\A[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)\Z", "Use <number>/<second|minute|hour|day>."
)


class APIToken(models.Model):
    """A key an integrator sends as ``Authorization: Token <key>`` (or ``Bearer <key>``).

    The token acts as its ``user``: the user's groups (viewer, operator, admin) decide what it may
    do. The key is shown once when an admin creates the token; we keep its SHA-256 (a key has 256
    random bits, so a slow password hash would add cost and no safety) and its first characters so
    an admin can tell tokens apart.
    """

    name = models.CharField(max_length=100, help_text="Who or what uses it (billing, EMS, ...)")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    throttle_rate = models.CharField(
        max_length=32,
        blank=True,
        validators=[rate_validator],
        help_text="Requests allowed, e.g. 100/minute; empty: the CSMS_API_THROTTLE_RATE default",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        # An unsaved token has no key yet: "name (…)" would read as a key that is empty.
        return f"{self.name} ({self.prefix}…)" if self.prefix else self.name
