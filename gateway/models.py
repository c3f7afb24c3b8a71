"""Charger credentials checked by the OCPP gateway (ours or EMQX's, through /gateway/auth)."""

from __future__ import annotations

from django.db import models


class SecurityProfile(models.IntegerChoices):
    """OCPP's security profiles: what a charger must present to connect (1.6 Security Whitepaper, 2.0.1 A00).

    A charger may always present more (a profile 1 charger over TLS is admitted), never less.
    """

    NONE = 0, "0: no authentication (unsafe)"
    BASIC = 1, "1: Basic auth"
    TLS_BASIC = 2, "2: TLS + Basic auth"
    TLS_CLIENT_CERT = 3, "3: TLS with a client certificate"


class ChargerCredential(models.Model):
    """How a charge point authenticates in its WebSocket handshake: its security profile and password.

    Profiles 1 and 2: the username is the charge point id and the password its AuthorizationKey (1.6) or
    BasicAuthPassword (2.0.1); profile 3: a client certificate whose CN is the charge point id (the password
    is then not asked for). Keyed by the plain charge point id string (not a foreign key) so that a
    credential can exist before the charger ever booted, and so this app does not depend on the
    order in which the fleet models are created. The password is stored hashed (Django's hashers).
    """

    charge_point_id = models.CharField(max_length=48, unique=True)
    password_hash = models.CharField(max_length=256)
    # 1 by default: what every credential was before profiles existed, so existing ones keep working.
    security_profile = models.PositiveSmallIntegerField(choices=SecurityProfile.choices, default=SecurityProfile.BASIC)
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charge_point_id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(charge_point_id__regex=r"[/+#]") & ~models.Q(charge_point_id=""),
                name="gateway_credential_cid_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(security_profile__lte=3), name="gateway_credential_profile_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id} (profile {self.security_profile}, {'enabled' if self.enabled else 'disabled'})"
