"""Charging sessions and the meter values sampled during (and outside) them."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from chargers.models import ID_TOKEN_MAX_LENGTH, ID_TOKEN_TYPE_MAX_LENGTH
from fleet import figures


class Transaction(models.Model):
    """A charging session, of either version.

    1.6: its primary key is the ``transactionId`` we hand to the charger. The natural key (charge
    point, connector, id tag, charger's start time, meter start) is unique: a StartTransaction
    replayed from the charger's offline queue under a new message id finds the existing row and gets
    the same transactionId.

    2.0.1: the charger names the session with its own string ``charger_transaction_id`` (unique per
    charger) and tells its life in ``TransactionEvent`` rows; the row is built from whichever event
    arrives first (an Updated before its Started, after an offline period) and never reopens once Ended.
    """

    charge_point = models.ForeignKey("chargers.ChargePoint", on_delete=models.PROTECT, related_name="transactions")
    # 2.0.1: the charger's transactionId; empty for 1.6, whose transactionId is our primary key.
    charger_transaction_id = models.CharField(max_length=36, blank=True, help_text="2.0.1: the charger's own id")
    evse_id = models.PositiveIntegerField(null=True, blank=True, help_text="Its EVSE (1.6: the connector id)")
    connector_id = models.PositiveIntegerField(
        help_text="1.6: the connector; 2.0.1: the connector on its EVSE (0: not told yet)"
    )
    id_tag = models.CharField(max_length=ID_TOKEN_MAX_LENGTH, blank=True, verbose_name="id token")
    id_token_type = models.CharField(max_length=ID_TOKEN_TYPE_MAX_LENGTH, blank=True, help_text="2.0.1 IdTokenEnumType")
    id_tag_status = models.CharField(max_length=20, help_text="What we answered at start")
    reservation_id = models.IntegerField(null=True, blank=True)
    remote_start_id = models.IntegerField(null=True, blank=True, help_text="2.0.1: of the RequestStartTransaction")
    meter_start = models.BigIntegerField(null=True, blank=True, help_text="Wh (2.0.1: the first register value)")
    started_at = models.DateTimeField(help_text="The charger's clock")
    start_received_at = models.DateTimeField(help_text="Our clock")
    charging_state = models.CharField(max_length=20, blank=True, help_text="2.0.1: as the last event said")
    time_spent_charging = models.PositiveIntegerField(null=True, blank=True, help_text="2.0.1: seconds")

    meter_stop = models.BigIntegerField(null=True, blank=True, help_text="Wh")
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="The charger's clock")
    stop_received_at = models.DateTimeField(null=True, blank=True, help_text="Our clock")
    stop_reason = models.CharField(max_length=32, blank=True)
    stop_id_tag = models.CharField(max_length=ID_TOKEN_MAX_LENGTH, blank=True)

    # Cost (block I): the tariff valid at the session's start prices it to its end (tariffs.selectors).
    tariff = models.ForeignKey(
        "tariffs.Tariff",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
        help_text="The tariff that prices it (none: no tariff applied at its start)",
    )
    currency = models.CharField(max_length=3, blank=True, help_text="Of its tariff, ISO 4217")
    total_cost = models.DecimalField(
        max_digits=30, decimal_places=4, null=True, blank=True, help_text="Final cost once stopped, in currency"
    )
    # 2.0.1's time charging, as we count it from the events' chargingState (the station's own figure,
    # timeSpentCharging, is optional): the seconds of the intervals closed, and the start of the open one.
    charging_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="2.0.1: seconds Charging")
    charging_since = models.DateTimeField(
        null=True, blank=True, help_text="2.0.1: Charging since (the charger's clock)"
    )
    cost_sent = models.DecimalField(
        max_digits=30,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="2.0.1: the last running total sent (CostUpdated)",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "connector_id", "id_tag", "started_at", "meter_start"],
                # 1.6 sessions only: a 2.0.1 session is the station's transactionId (the next constraint).
                condition=models.Q(charger_transaction_id=""),
                name="uniq_transaction_natural_key",
            ),
            models.UniqueConstraint(
                fields=["charge_point", "charger_transaction_id"],
                condition=~models.Q(charger_transaction_id=""),
                name="uniq_charger_transaction_id",
            ),
        ]
        indexes = [
            models.Index(fields=["charge_point", "-started_at"]),
            models.Index(fields=["id_tag", "-started_at"]),
            models.Index(
                fields=["charge_point", "connector_id"],
                condition=models.Q(stopped_at__isnull=True),
                name="active_transaction_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.charge_point_id}/{self.connector_id} {self.id_tag}"

    @property
    def transaction_id(self) -> str:
        """The id the charger knows the session by: its own (2.0.1) or our primary key (1.6)."""
        return self.charger_transaction_id or str(self.pk)

    @property
    def is_active(self) -> bool:
        return self.stopped_at is None

    def charging_seconds_at(self, now: datetime) -> int:
        """The time it charged, priced by its tariff's time price: 1.6, start to stop (or to ``now``); 2.0.1,
        the time its chargingState was Charging (to ``now`` while it is), or the station's timeSpentCharging
        when that is more."""
        if not self.charger_transaction_id:
            return max(int(((self.stopped_at or now) - self.started_at).total_seconds()), 0)
        counted = self.charging_seconds or 0
        if self.charging_since is not None and self.stopped_at is None:
            counted += max(int((now - self.charging_since).total_seconds()), 0)
        return max(counted, self.time_spent_charging or 0)

    @property
    def energy_wh(self) -> int | None:
        """Final energy delivered (None until stopped); "energy so far" is ``fleet.selectors.session_energy_wh``."""
        return figures.energy_wh(meter_start=self.meter_start, meter_stop=self.meter_stop, latest_register_wh=None)


class TransactionEvent(models.Model):
    """One 2.0.1 TransactionEvent of a session, unique per (session, seqNo): a replay has no second effect.

    ``reply`` is what we answered, so that the same event under a new message id gets the same answer.
    """

    class EventType(models.TextChoices):
        STARTED = "Started"
        UPDATED = "Updated"
        ENDED = "Ended"

    # No index of its own: uniq_transaction_event_seq_no (transaction, seq_no) serves it.
    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="events", db_index=False)
    seq_no = models.BigIntegerField()
    event_type = models.CharField(max_length=8, choices=EventType.choices)
    trigger_reason = models.CharField(max_length=24)
    timestamp = models.DateTimeField(help_text="The charger's clock")
    offline = models.BooleanField(default=False)
    charging_state = models.CharField(max_length=20, blank=True)
    evse_id = models.PositiveIntegerField(null=True, blank=True)
    connector_id = models.PositiveIntegerField(null=True, blank=True)
    id_tag = models.CharField(max_length=ID_TOKEN_MAX_LENGTH, blank=True, verbose_name="id token")
    id_token_type = models.CharField(max_length=ID_TOKEN_TYPE_MAX_LENGTH, blank=True)
    payload = models.JSONField(help_text="As the charger sent it")
    reply = models.JSONField(default=dict, help_text="What we answered")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["transaction", "seq_no"]
        constraints = [
            models.UniqueConstraint(fields=["transaction", "seq_no"], name="uniq_transaction_event_seq_no"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.seq_no} of {self.transaction_id}"


class MeterValue(models.Model):
    """One sampled value (OCPP SampledValue) with the timestamp of its MeterValue group.

    ``connector_id`` is where the meter is: the 1.6 connector, the 2.0.1 EVSE (2.0.1 meters per EVSE;
    a 1.6 connector is its own EVSE, so for both it is the EVSE number).
    """

    # The most written table: no index that another one already serves (uniq_sampled_value leads
    # with charge_point, connector_id, timestamp, also read backwards; the transaction index with
    # transaction). Three indexes instead of six on every sampled value.
    charge_point = models.ForeignKey("chargers.ChargePoint", on_delete=models.CASCADE, related_name="+", db_index=False)
    connector_id = models.PositiveIntegerField()
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.CASCADE, related_name="meter_values", db_index=False
    )
    timestamp = models.DateTimeField(help_text="The charger's clock")
    received_at = models.DateTimeField()
    measurand = models.CharField(max_length=50, default="Energy.Active.Import.Register")
    phase = models.CharField(max_length=8, blank=True)
    unit = models.CharField(max_length=16, default="Wh")
    context = models.CharField(max_length=24, default="Sample.Periodic")
    location = models.CharField(max_length=8, default="Outlet")
    format = models.CharField(max_length=12, default="Raw")
    # Text: a signed meter value (format SignedData, e.g. OCMF) runs to hundreds of characters.
    value = models.TextField(help_text="As sent (SignedData is not a number)")
    numeric_value = models.FloatField(null=True, blank=True)
    # 2.0.1's signedMeterValue (signedMeterData, signingMethod, encodingMethod, publicKey), kept as sent.
    signed = models.JSONField(null=True, blank=True, help_text="2.0.1 signedMeterValue")

    class Meta:
        ordering = ["timestamp", "id"]
        constraints = [
            # A MeterValues replayed from the charger's offline queue (new message id, same
            # samples) must not count the energy twice.
            models.UniqueConstraint(
                fields=["charge_point", "connector_id", "timestamp", "measurand", "phase", "location", "context"],
                name="uniq_sampled_value",
            ),
        ]
        indexes = [
            models.Index(fields=["transaction", "measurand", "timestamp"]),
        ]

    def __str__(self) -> str:
        return f"{self.measurand}={self.value}{self.unit} at {self.timestamp:%H:%M:%S}"
