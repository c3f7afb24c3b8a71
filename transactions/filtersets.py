"""One FilterSet per sessions model, shared by the sessions API and the dashboard's sessions list."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from chargers.filtersets import BooleanFilter, IntegerFilter, IsoDateTimeFilter, VersionFilter, version_choices
from chargers.models import IdTokenType
from transactions.models import MeterValue, Transaction, TransactionEvent

MEASURANDS = (
    "Current.Export",
    "Current.Import",
    "Current.Offered",
    "Energy.Active.Export.Register",
    "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register",
    "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval",
    "Energy.Active.Import.Interval",
    "Energy.Reactive.Export.Interval",
    "Energy.Reactive.Import.Interval",
    "Frequency",
    "Power.Active.Export",
    "Power.Active.Import",
    "Power.Factor",
    "Power.Offered",
    "Power.Reactive.Export",
    "Power.Reactive.Import",
    "RPM",
    "SoC",
    "Temperature",
    "Voltage",
)

SESSION_STATUSES = (("active", "In progress"), ("completed", "Completed"))
# OCPP 2.0.1 ChargingStateEnumType.
CHARGING_STATES = tuple((state, state) for state in ("Charging", "EVConnected", "SuspendedEV", "SuspendedEVSE", "Idle"))
TRIGGER_REASON_MAX = TransactionEvent._meta.get_field("trigger_reason").max_length
# Our primary keys are bigint-sized at most; a longer number cannot be one (and would overflow the query).
_MAX_PK = 2**63 - 1


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class TransactionFilterSet(filters.FilterSet):
    """Charging sessions: the API's list and CSV export, the dashboard's sessions page."""

    charge_point = filters.CharFilter(field_name="charge_point__charge_point_id", help_text="Charge point id")
    charger = filters.CharFilter(
        field_name="charge_point__charge_point_id",
        lookup_expr="icontains",
        help_text="Part of the charge point id",
    )
    connector = IntegerFilter(
        field_name="connector_id",
        help_text="Connector id (2.0.1: the connector on its EVSE; combine with `evse_id`)",
        min_value=0,
        max_value=2**31 - 1,
    )
    evse_id = IntegerFilter(
        help_text="The EVSE (1.6: the connector, each being an EVSE of its own)", min_value=0, max_value=2**31 - 1
    )
    transaction_id = filters.CharFilter(
        method="filter_transaction_id",
        max_length=36,
        help_text="The id the charger knows the session by: its own transactionId (2.0.1), or this API's "
        "`id` (1.6, whose transactionId is ours). Exact, case-sensitive.",
    )
    ocpp_version = VersionFilter(field_name="charge_point__ocpp_version", help_text="The charger's OCPP version")
    id_token_type = filters.MultipleChoiceFilter(
        choices=IdTokenType.choices, help_text="2.0.1: the type of the token that started it (repeat for several)"
    )
    charging_state = filters.MultipleChoiceFilter(
        choices=CHARGING_STATES, help_text="2.0.1: the charging state the last event said (repeat for several)"
    )
    # OCPP's IdToken is a CiString20 (case-insensitive): TAG-A and tag-a are one card.
    id_tag = filters.CharFilter(
        lookup_expr="iexact", help_text="The id tag that started the session (case-insensitive)"
    )
    active = BooleanFilter(method="filter_active", help_text="Still charging (no StopTransaction yet)")
    status = filters.ChoiceFilter(
        choices=SESSION_STATUSES, method="filter_status", help_text="active or completed (the dashboard's `active`)"
    )
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte", help_text="Inclusive")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt", help_text="Exclusive")
    started_from = filters.DateFilter(method="filter_started_from", help_text="Started on or after this local day")
    started_to = filters.DateFilter(method="filter_started_to", help_text="Started on or before this local day")
    stopped_after = IsoDateTimeFilter(field_name="stopped_at", lookup_expr="gte", help_text="Inclusive")
    stopped_before = IsoDateTimeFilter(field_name="stopped_at", lookup_expr="lt", help_text="Exclusive")

    class Meta:
        model = Transaction
        fields = [
            "charge_point",
            "charger",
            "connector",
            "evse_id",
            "transaction_id",
            "ocpp_version",
            "id_token_type",
            "charging_state",
            "id_tag",
            "active",
            "status",
            "started_after",
            "started_before",
            "started_from",
            "started_to",
            "stopped_after",
            "stopped_before",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["ocpp_version"].extra["choices"] = version_choices()

    def filter_transaction_id(self, queryset: QuerySet[Transaction], name: str, value: str) -> QuerySet[Transaction]:
        if not value:
            return queryset
        match = Q(charger_transaction_id=value)
        # A 1.6 session's transactionId is str(pk): "7", never "07" or "+7".
        if value.isascii() and value.isdigit() and str(int(value)) == value and int(value) <= _MAX_PK:
            match |= Q(charger_transaction_id="", pk=int(value))
        return queryset.filter(match)

    def filter_active(self, queryset: QuerySet[Transaction], name: str, value: bool | None) -> QuerySet[Transaction]:
        if value is None:
            return queryset
        return queryset.filter(stopped_at__isnull=value)

    def filter_status(self, queryset: QuerySet[Transaction], name: str, value: str) -> QuerySet[Transaction]:
        if not value:
            return queryset
        return queryset.filter(stopped_at__isnull=value == "active")

    def filter_started_from(
        self, queryset: QuerySet[Transaction], name: str, value: date | None
    ) -> QuerySet[Transaction]:
        return queryset if value is None else queryset.filter(started_at__gte=_local_midnight(value))

    def filter_started_to(
        self, queryset: QuerySet[Transaction], name: str, value: date | None
    ) -> QuerySet[Transaction]:
        return queryset if value is None else queryset.filter(started_at__lt=_local_midnight(value + timedelta(days=1)))


class MeterValueFilterSet(filters.FilterSet):
    """The sampled values of a session."""

    measurand = filters.MultipleChoiceFilter(
        choices=[(m, m) for m in MEASURANDS], help_text="OCPP measurand (repeat for several)"
    )
    phase = filters.CharFilter(help_text="L1, L2, L3, N, L1-N, ...")
    context = filters.CharFilter(help_text="Sample.Periodic, Transaction.Begin, ...")
    after = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", help_text="Inclusive (charger's clock)")
    before = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", help_text="Exclusive (charger's clock)")

    class Meta:
        model = MeterValue
        fields = ["measurand", "phase", "context", "after", "before"]


class TransactionEventFilterSet(filters.FilterSet):
    """The TransactionEvents of a 2.0.1 session."""

    event_type = filters.MultipleChoiceFilter(
        choices=TransactionEvent.EventType.choices, help_text="Started, Updated, Ended (repeat for several)"
    )
    trigger_reason = filters.CharFilter(
        max_length=TRIGGER_REASON_MAX, help_text="OCPP 2.0.1 TriggerReasonEnumType, e.g. MeterValuePeriodic"
    )
    offline = BooleanFilter(help_text="Sent after the charger was offline")

    class Meta:
        model = TransactionEvent
        fields = ["event_type", "trigger_reason", "offline"]
