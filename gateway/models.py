"""Charger credentials checked by the OCPP gateway (ours or EMQX's, through /gateway/auth)."""

from __future__ import annotations

from django.db import models


class ChargerCredential(models.Model):
    """The HTTP Basic password a charge point presents in its WebSocket handshake.

    OCPP 1.6 security profile 1: the username is the charge point id and the password its
    AuthorizationKey. Keyed by the plain charge point id string (not a foreign key) so that a
    credential can exist before the charger ever booted, and so this app does not depend on the
    order in which the fleet models are created. The password is stored hashed (Django's hashers).
    """

    charge_point_id = models.CharField(max_length=48, unique=True)
    password_hash = models.CharField(max_length=256)
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
            )
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id} ({'enabled' if self.enabled else 'disabled'})"
