"""The smart charging data model (block K): what a station told us beyond its charging profiles.

The profiles themselves are ``chargers.models.ChargingProfile`` (both versions keep them there). Here: the
reports we asked for (GetChargingProfiles), the composite schedules stations answered, the external limits
they notified, and the charging needs and schedules of their EVs (ISO 15118).
"""

from __future__ import annotations

from django.db import models

from chargers.models import ChargePoint, Command


class ProfileReport(models.Model):
    """One GetChargingProfiles and the ReportChargingProfiles parts it brought, matched by ``request_id``."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        REPORTING = "reporting"
        COMPLETE = "complete"
        NO_PROFILES = "no_profiles", "no profiles"
        FAILED = "failed"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="profile_reports")
    request_id = models.IntegerField()
    criteria = models.JSONField(default=dict, help_text="The request: evseId and chargingProfile criterion")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    parts = models.PositiveIntegerField(default=0)
    profiles = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [models.UniqueConstraint(fields=["charge_point", "request_id"], name="uniq_profile_report")]

    def __str__(self) -> str:
        return f"profile report {self.request_id} of {self.charge_point_id} ({self.status})"


class CompositeSchedule(models.Model):
    """A schedule a station computed for an EVSE (GetCompositeSchedule ``Accepted``), as it answered it."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="composite_schedules")
    command = models.OneToOneField(Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evse_id = models.PositiveIntegerField(help_text="0: the grid connection of the station")
    duration = models.PositiveIntegerField(help_text="Seconds")
    charging_rate_unit = models.CharField(max_length=1)
    schedule_start = models.DateTimeField()
    periods = models.JSONField(default=list, help_text="chargingSchedulePeriod as answered")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["charge_point", "evse_id", "-received_at"])]

    def __str__(self) -> str:
        return f"composite schedule of {self.charge_point_id}#{self.evse_id} at {self.schedule_start}"


class ChargingLimit(models.Model):
    """An external limit on a station (NotifyChargingLimit: an EMS, the grid operator...), one per EVSE and
    source, kept until the station says it is gone (ClearedChargingLimit)."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="charging_limits")
    evse_id = models.PositiveIntegerField(default=0, help_text="0: the whole station (no evseId)")
    charging_limit_source = models.CharField(max_length=8, help_text="EMS, Other, SO, CSO")
    is_grid_critical = models.BooleanField(null=True, blank=True)
    schedules = models.JSONField(default=list, help_text="chargingSchedule as notified")
    reported_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["charge_point", "evse_id", "charging_limit_source"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "evse_id", "charging_limit_source"],
                condition=models.Q(cleared_at__isnull=True),
                name="uniq_active_charging_limit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.charging_limit_source} limit on {self.charge_point_id}#{self.evse_id}"


class EVChargingNeeds(models.Model):
    """What an EV asked for at an EVSE (NotifyEVChargingNeeds, ISO 15118), and what we answered."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="ev_charging_needs")
    evse_id = models.PositiveIntegerField()
    requested_energy_transfer = models.CharField(max_length=20)
    departure_time = models.DateTimeField(null=True, blank=True)
    max_schedule_tuples = models.PositiveIntegerField(null=True, blank=True)
    needs = models.JSONField(help_text="chargingNeeds as notified")
    status = models.CharField(max_length=12, help_text="Our answer (Accepted, Rejected, Processing)")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "EV charging needs"

    def __str__(self) -> str:
        return f"EV needs on {self.charge_point_id}#{self.evse_id} ({self.requested_energy_transfer})"


class EVChargingSchedule(models.Model):
    """The schedule an EV chose within our limits (NotifyEVChargingSchedule)."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="ev_charging_schedules")
    evse_id = models.PositiveIntegerField()
    time_base = models.DateTimeField()
    schedule = models.JSONField(help_text="chargingSchedule as notified")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"EV schedule on {self.charge_point_id}#{self.evse_id} from {self.time_base}"
