"""Operator alerts: what needs a person's attention (a tampered charger, a failed firmware signature, a
charger locked out after repeated failed logins), until someone acknowledges it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from chargers.models import ChargePoint


class Alert(models.Model):
    """One operator alert: raised by a service (``alerts.services.alert_raise``), acknowledged by a person.

    Deduplicated: while an alert is unacknowledged, raising the same ``kind`` for the same charger (or,
    without a charger, the same ``subject``: a client address) counts one more occurrence on it instead of
    adding a row, so a charger reporting the same tamper event every minute is one line on the dashboard.
    Once acknowledged, the next occurrence opens a new alert.
    """

    class Severity(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        CRITICAL = "critical"

    charge_point = models.ForeignKey(
        ChargePoint, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    # What the alert is about when it is no charger (a client address locked out), else "".
    subject = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=64, help_text="What happened, e.g. security_event:TamperDetectionActivated")
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    title = models.CharField(max_length=200)
    detail = models.JSONField(default=dict, blank=True, help_text="The latest occurrence's facts")
    count = models.PositiveIntegerField(default=1, help_text="Occurrences while unacknowledged")
    raised_at = models.DateTimeField(help_text="The first occurrence")
    last_raised_at = models.DateTimeField(help_text="The latest occurrence")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_raised_at", "-id"]
        constraints = [
            # The deduplication as a database fact: two workers raising at once make one alert.
            models.UniqueConstraint(
                fields=["charge_point", "subject", "kind"],
                condition=Q(acknowledged_at__isnull=True),
                nulls_distinct=False,
                name="one_open_alert_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["acknowledged_at", "-last_raised_at"])]

    def __str__(self) -> str:
        who = self.charge_point.charge_point_id if self.charge_point_id and self.charge_point else self.subject
        return f"{self.severity} {self.kind} {who} x{self.count}"
