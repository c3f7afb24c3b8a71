"""The tariffs and cost data model: what a session costs, per charger, per group of chargers or by default."""

from __future__ import annotations

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

CURRENCY = RegexValidator(r"^[A-Z]{3}$", "an ISO 4217 code of three capital letters (EUR, USD, JPY)")


class ChargerGroup(models.Model):
    """A named set of chargers that share a tariff (a site, a customer's fleet). A charger is in one at most."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    charge_points = models.ManyToManyField(
        "chargers.ChargePoint", through="ChargerGroupMember", related_name="tariff_groups", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChargerGroupMember(models.Model):
    """A charger's place in its group: one group per charger, so its tariff is never ambiguous."""

    group = models.ForeignKey(ChargerGroup, on_delete=models.CASCADE, related_name="members")
    charge_point = models.ForeignKey("chargers.ChargePoint", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["charge_point"], name="uniq_charger_group_member")]

    def __str__(self) -> str:
        return f"{self.charge_point_id} in {self.group_id}"


class Tariff(models.Model):
    """A price list: a fee per session, a price per kWh delivered and per hour charging, in one currency.

    Its scope is one charger (``charge_point``), a group of chargers (``group``), or, with neither, every
    charger: the default. A session is priced by the tariff valid at its start, the charger's own first,
    then its group's, then the default (``tariffs.pricing`` and the SQL of ``tariffs.selectors``), and
    keeps it to its end. Several of one scope valid at one instant: the one that became valid last.
    """

    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, validators=[CURRENCY], help_text="ISO 4217, e.g. EUR")
    energy_price = models.DecimalField(
        max_digits=12, decimal_places=6, default=0, validators=[MinValueValidator(0)], help_text="Per kWh delivered"
    )
    time_price = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Per hour charging (2.0.1: while the charging state is Charging; 1.6: start to stop)",
    )
    session_fee = models.DecimalField(
        max_digits=12, decimal_places=6, default=0, validators=[MinValueValidator(0)], help_text="Per session"
    )
    charge_point = models.ForeignKey(
        "chargers.ChargePoint",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tariffs",
        help_text="This charger's own tariff",
    )
    group = models.ForeignKey(
        ChargerGroup,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tariffs",
        help_text="The tariff of this group's chargers",
    )
    valid_from = models.DateTimeField(null=True, blank=True, help_text="Inclusive; empty: always was")
    valid_to = models.DateTimeField(null=True, blank=True, help_text="Exclusive; empty: no end")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(charge_point__isnull=True) | Q(group__isnull=True), name="tariff_one_scope"
            ),
            models.CheckConstraint(
                condition=Q(energy_price__gte=0) & Q(time_price__gte=0) & Q(session_fee__gte=0),
                name="tariff_prices_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gt=models.F("valid_from")),
                name="tariff_valid_to_after_valid_from",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="tariff_currency_iso_4217"),
        ]
        indexes = [
            # The defaults (no scope): the last branch of tariffs.selectors.tariff_applicable_sql.
            models.Index(
                fields=["valid_from"],
                condition=Q(charge_point__isnull=True, group__isnull=True),
                name="tariff_default_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    @property
    def scope(self) -> str:
        """charger, group or default."""
        if self.charge_point_id is not None:
            return "charger"
        return "group" if self.group_id is not None else "default"
