"""The monitoring data model: what a 2.0.1 station watches in its device model, and what went wrong.

- ``VariableMonitor``: one monitor of a station (SetVariableMonitoring we sent and it accepted, or one it
  reported in NotifyMonitoringReport), by the station's own monitor id.
- ``MonitoringSettings``: the station's monitoring base and level as it last accepted them.
- ``MonitoringReportPart``: each part of a NotifyMonitoringReport (multipart, requestId / seqNo / tbc).
- ``StationFault``: a problem the station raised in a NotifyEvent (a ``techCode``, or an alerting event not
  cleared), open until an event with ``cleared`` true ends it.
"""

from __future__ import annotations

from django.db import models

from chargers.models import ChargePoint


class VariableMonitor(models.Model):
    """A monitor on one variable of a station's device model (VariableMonitoringType), by its station id."""

    class Type(models.TextChoices):
        UPPER_THRESHOLD = "UpperThreshold"
        LOWER_THRESHOLD = "LowerThreshold"
        DELTA = "Delta"
        PERIODIC = "Periodic"
        PERIODIC_CLOCK_ALIGNED = "PeriodicClockAligned"
        # OCPP 2.1
        TARGET_DELTA = "TargetDelta"
        TARGET_DELTA_RELATIVE = "TargetDeltaRelative"

    class Source(models.TextChoices):
        #: Set by a SetVariableMonitoring of ours that the station accepted.
        CSMS = "csms"
        #: Reported by the station (NotifyMonitoringReport): hard-wired, preconfigured or custom.
        STATION = "station"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="variable_monitors")
    monitor_id = models.IntegerField(help_text="The station's id of the monitor")
    component = models.CharField(max_length=50)
    component_instance = models.CharField(max_length=50, blank=True)
    evse_id = models.PositiveIntegerField(null=True, blank=True)
    connector_id = models.PositiveIntegerField(null=True, blank=True)
    variable = models.CharField(max_length=50)
    variable_instance = models.CharField(max_length=50, blank=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    value = models.FloatField(help_text="Threshold, delta or interval (seconds), by type")
    severity = models.PositiveSmallIntegerField(help_text="0 (Danger) .. 9 (Debug)")
    transaction = models.BooleanField(default=False, help_text="Only active during a transaction")
    source = models.CharField(max_length=8, choices=Source.choices)
    #: The report (requestId) that last listed it, if any.
    report_request_id = models.IntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["charge_point", "component", "variable", "monitor_id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "monitor_id"], name="uniq_monitor_per_station"),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id} #{self.monitor_id} {self.component}.{self.variable} {self.type}"


class MonitoringSettings(models.Model):
    """A station's monitoring base (SetMonitoringBase) and level (SetMonitoringLevel), as it accepted them."""

    charge_point = models.OneToOneField(ChargePoint, on_delete=models.CASCADE, related_name="monitoring_settings")
    monitoring_base = models.CharField(max_length=16, blank=True, help_text="All, FactoryDefault, HardWiredOnly")
    monitoring_level = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Events of this severity or more urgent are reported"
    )
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.charge_point_id} base={self.monitoring_base} level={self.monitoring_level}"


class MonitoringReportPart(models.Model):
    """One NotifyMonitoringReport part: which request it answers, its number, whether more follow."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="monitoring_report_parts")
    request_id = models.IntegerField()
    seq_no = models.IntegerField()
    tbc = models.BooleanField(default=False)
    monitors = models.PositiveIntegerField(default=0)
    generated_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["charge_point", "request_id", "seq_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "request_id", "seq_no"], name="uniq_monitoring_report_part"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id} report {self.request_id} part {self.seq_no}"


class StationFault(models.Model):
    """A problem a station raised in a NotifyEvent, open until a cleared event ends it."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="faults")
    event_id = models.IntegerField(help_text="The eventId that raised it")
    component = models.CharField(max_length=50)
    component_instance = models.CharField(max_length=50, blank=True)
    evse_id = models.PositiveIntegerField(null=True, blank=True)
    connector_id = models.PositiveIntegerField(null=True, blank=True)
    variable = models.CharField(max_length=50)
    variable_instance = models.CharField(max_length=50, blank=True)
    tech_code = models.CharField(max_length=50, blank=True)
    tech_info = models.CharField(max_length=500, blank=True)
    actual_value = models.CharField(max_length=2500, blank=True)
    trigger = models.CharField(max_length=10, blank=True, help_text="Alerting, Delta, Periodic")
    raised_at = models.DateTimeField(help_text="The station's timestamp of the event")
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="The station's timestamp of the clearing")
    cleared_by_event_id = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "event_id", "raised_at"], name="uniq_fault_event"),
        ]
        indexes = [models.Index(fields=["charge_point", "cleared_at"])]

    def __str__(self) -> str:
        return f"{self.charge_point_id} {self.component}.{self.variable} {self.tech_code}"
