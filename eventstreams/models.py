"""OCPP 2.1 periodic event streams: a station's stream of one monitor's values, kept as a time series."""

from __future__ import annotations

from django.db import models

from chargers.models import ChargePoint


class PeriodicEventStream(models.Model):
    """A stream a station opened (OpenPeriodicEventStream) for one of its variable monitors.

    Named by the station's own ``stream_id``, unique per station: a stream opened again under the same
    id is the same row, open again with its new parameters. ``interval`` (seconds) and ``values`` (items
    per message) are the parameters as the station last said or we last adjusted them; either may be
    unknown (the station leaves them out: its defaults). A stream whose values arrived without its Open
    (opened before this CSMS knew the station, or the Open was lost) is kept too, its monitor unknown.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="event_streams")
    stream_id = models.IntegerField(help_text="The station's id of the stream")
    variable_monitoring_id = models.IntegerField(
        null=True, blank=True, help_text="The monitor whose events the stream carries (null: not told)"
    )
    interval = models.IntegerField(null=True, blank=True, help_text="Seconds between the station's messages")
    values = models.IntegerField(null=True, blank=True, help_text="Values the station sends together")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    last_value_at = models.DateTimeField(null=True, blank=True, help_text="The newest value's time (the station's)")
    pending = models.IntegerField(null=True, blank=True, help_text="Values still to come, as the station last said")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["charge_point_id", "stream_id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "stream_id"], name="uniq_event_stream"),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point_id} stream {self.stream_id}"


class StreamValue(models.Model):
    """One value of a stream: at the station's time (``basetime + t``), as sent, and as a number when it is one.

    Unique per (stream, time): a SEND delivered again (MQTT QoS 1, past the duplicate window too) adds nothing.
    """

    stream = models.ForeignKey(PeriodicEventStream, on_delete=models.CASCADE, related_name="stream_values")
    timestamp = models.DateTimeField()
    value = models.CharField(max_length=2500)
    numeric_value = models.FloatField(null=True, blank=True, help_text="The value as a number, when it is one")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["stream_id", "timestamp"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "timestamp"], name="uniq_stream_value"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} {self.timestamp.isoformat()} {self.value[:40]}"
