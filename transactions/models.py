"""Charging sessions and the meter values sampled during (and outside) them."""

from __future__ import annotations

from django.db import models

from fleet import figures


class Transaction(models.Model):
    """A charging session. Its primary key is the ``transactionId`` we hand to the charger.

    The natural key (charge point, connector, id tag, charger's start time, meter start) is unique:
    a StartTransaction replayed from the charger's offline queue under a new message id finds the
    existing row and gets the same transactionId.
    """

    charge_point = models.ForeignKey("chargers.ChargePoint", on_delete=models.PROTECT, related_name="transactions")
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=20)
    id_tag_status = models.CharField(max_length=16, help_text="What we answered at start")
    reservation_id = models.IntegerField(null=True, blank=True)
    meter_start = models.BigIntegerField(help_text="Wh")
    started_at = models.DateTimeField(help_text="The charger's clock")
    start_received_at = models.DateTimeField(help_text="Our clock")

    meter_stop = models.BigIntegerField(null=True, blank=True, help_text="Wh")
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="The charger's clock")
    stop_received_at = models.DateTimeField(null=True, blank=True, help_text="Our clock")
    stop_reason = models.CharField(max_length=20, blank=True)
    stop_id_tag = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["charge_point", "connector_id", "id_tag", "started_at", "meter_start"],
                name="uniq_transaction_natural_key",
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
    def is_active(self) -> bool:
        return self.stopped_at is None

    @property
    def energy_wh(self) -> int | None:
        """Final energy delivered (None until stopped); "energy so far" is ``fleet.selectors.session_energy_wh``."""
        return figures.energy_wh(meter_start=self.meter_start, meter_stop=self.meter_stop, latest_register_wh=None)


class MeterValue(models.Model):
    """One sampled value (OCPP SampledValue) with the timestamp of its MeterValue group."""

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
