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
    # While a security profile upgrade runs: the profile the charger may also connect at, whose first
    # handshake completes the upgrade (``gateway.upgrade``). None: no upgrade running.
    upgrade_to_profile = models.PositiveSmallIntegerField(choices=SecurityProfile.choices, null=True, blank=True)
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


class CredentialRotation(models.Model):
    """A new Basic auth password sent to a charger (1.6 ChangeConfiguration AuthorizationKey, 2.0.1 SetVariables
    SecurityCtrlr.BasicAuthPassword), hashed, until the charger answers.

    pending -> accepted (the charger took it: its hash replaced the credential's, the old password no longer
    opens) or failed (any other answer, a CallError, no answer, the command expired or cancelled: the old
    password stays the only valid one). Only the hash is kept; the command's copy of the clear text is
    masked once the command is over (``gateway.rotation``).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        FAILED = "failed"

    charge_point = models.ForeignKey(
        "chargers.ChargePoint", on_delete=models.CASCADE, related_name="credential_rotations"
    )
    command = models.OneToOneField(
        "chargers.Command", null=True, blank=True, on_delete=models.SET_NULL, related_name="credential_rotation"
    )
    password_hash = models.CharField(max_length=256)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255, blank=True, help_text="Why it failed, or the answer taken")
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One rotation in flight per charger: two would race for which password the charger keeps.
            models.UniqueConstraint(
                fields=["charge_point"], condition=models.Q(status="pending"), name="one_pending_rotation_per_cp"
            ),
        ]

    def __str__(self) -> str:
        return f"password rotation of {self.charge_point_id} ({self.status})"


class SecurityProfileUpgrade(models.Model):
    """A guided upgrade of a charger's security profile (2.0.1 A05, 1.6 whitepaper "Upgrade Charge Point
    Security Profile"), step by step, each step queued once the previous one is Accepted.

    1.6: ChangeConfiguration SecurityProfile. 2.0.1: SetNetworkProfile (a configuration slot for the new
    profile), SetVariables OCPPCommCtrlr.NetworkConfigurationPriority (that slot first), Reset OnIdle.
    running -> reconnecting (every step Accepted: the charger is to reconnect at the new profile) ->
    completed (its first handshake at the new profile: the credential's profile raised) or failed (a step
    not Accepted, with the reason). The credential's ``upgrade_to_profile`` lets the charger in at the new
    profile while it runs.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        RECONNECTING = "reconnecting"
        COMPLETED = "completed"
        FAILED = "failed"

    charge_point = models.ForeignKey(
        "chargers.ChargePoint", on_delete=models.CASCADE, related_name="security_profile_upgrades"
    )
    from_profile = models.PositiveSmallIntegerField(choices=SecurityProfile.choices)
    to_profile = models.PositiveSmallIntegerField(choices=SecurityProfile.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    reason = models.CharField(max_length=255, blank=True)
    # What the later steps need (2.0.1: the slot, the connection data, the priority list).
    plan = models.JSONField(default=dict, blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point"],
                condition=models.Q(status__in=["running", "reconnecting"]),
                name="one_open_profile_upgrade_per_cp",
            ),
            models.CheckConstraint(
                condition=models.Q(to_profile__gt=models.F("from_profile")), name="profile_upgrade_goes_up"
            ),
        ]

    def __str__(self) -> str:
        return f"profile {self.from_profile} -> {self.to_profile} of {self.charge_point_id} ({self.status})"


class SecurityProfileUpgradeStep(models.Model):
    """One command of an upgrade, in order; its status follows its command's answer."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        ACCEPTED = "accepted"
        FAILED = "failed"

    upgrade = models.ForeignKey(SecurityProfileUpgrade, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=64)
    command = models.OneToOneField(
        "chargers.Command", null=True, blank=True, on_delete=models.SET_NULL, related_name="profile_upgrade_step"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    answer = models.CharField(max_length=255, blank=True, help_text="The charger's answer, or why there was none")
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["upgrade", "position"]
        constraints = [models.UniqueConstraint(fields=["upgrade", "position"], name="uniq_upgrade_step_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.action} ({self.status})"
