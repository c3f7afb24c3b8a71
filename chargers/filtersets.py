"""One FilterSet per fleet model, shared by the API viewsets and the dashboard's list pages (NetBox style).

The API binds them as ``filterset_class`` (a bad value is a 400, never a 500); the dashboard binds
the same classes to its query string and drops what does not validate, so a page and the API can
never disagree on what a filter means. Filters only the dashboard's forms spell (``q``, ``state``,
``registration``) are ordinary filters here, open to the API too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_filters import fields as filter_fields
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from chargers import ports
from chargers.models import (
    ChargePoint,
    Command,
    Connector,
    ConnectorStatusChange,
    DeviceVariable,
    IdTag,
    IdTokenType,
    RegistrationStatus,
)
from fleet.selectors import State, charger_state_is

CONNECTOR_STATUSES = [
    (status, status)
    for status in (
        "Available",
        "Preparing",
        "Charging",
        "SuspendedEVSE",
        "SuspendedEV",
        "Finishing",
        "Reserved",
        "Occupied",  # 2.0.1
        "Unavailable",
        "Faulted",
        "Unknown",
    )
]


# --- Strict field types (shared with transactions.filtersets and gateway.filtersets) -------------


class IntegerFilter(filters.NumberFilter):
    """A whole number (NumberFilter alone would take 1.5 and round it)."""

    field_class = forms.IntegerField  # type: ignore[assignment]  # the stubs expect NumberFilter's DecimalField


# yes/no are the dashboard's spellings (its select boxes), true/false/1/0 the API's.
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class StrictBooleanWidget(forms.TextInput):
    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class StrictBooleanField(forms.Field):
    """true/false/1/0 (or yes/no); anything else is an error (django-filter's own ignores what it cannot read)."""

    widget = StrictBooleanWidget

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        parsed = _BOOLEANS.get(str(value).lower())
        if parsed is None:
            raise forms.ValidationError("Enter true or false.", code="invalid")
        return parsed


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField  # type: ignore[assignment]  # the stubs expect NullBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", StrictBooleanWidget)
        super().__init__(*args, **kwargs)


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, converted to UTC here: PostgreSQL refuses offsets beyond ±15:59 with an error."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Date and time out of range.", code="overflow") from None


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UTCIsoDateTimeField


class VersionField(forms.ChoiceField):
    """An OCPP version this CSMS speaks (``chargers.ports``), read when a request comes in: the domain
    names no version, and one registered at start-up is filterable at once."""

    def valid_value(self, value: Any) -> bool:
        return str(value) in ports.versions()


class VersionFilter(filters.ChoiceFilter):
    field_class = VersionField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [])
        super().__init__(*args, **kwargs)


def version_choices() -> list[tuple[str, str]]:
    return [(version, version) for version in ports.versions()]


# --- FilterSets ---------------------------------------------------------------------------------


def _search(queryset: QuerySet[Any], fields: tuple[str, ...], value: str) -> QuerySet[Any]:
    if not value:
        return queryset
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__icontains": value})
    return queryset.filter(query)


class ChargePointFilterSet(filters.FilterSet):
    """Chargers: the API's list and the dashboard's fleet overview."""

    q = filters.CharFilter(method="filter_q", help_text="Part of the id, vendor, model or a serial number")
    search = filters.CharFilter(
        field_name="charge_point_id", lookup_expr="icontains", help_text="Part of the charge point id"
    )
    state = filters.ChoiceFilter(
        choices=State.CHOICES, method="filter_state", help_text="What the charger is doing (worst connector first)"
    )
    registration_status = filters.MultipleChoiceFilter(
        choices=RegistrationStatus.choices, help_text="Accepted, Pending or Rejected (repeat for several)"
    )
    registration = filters.ChoiceFilter(
        field_name="registration_status",
        choices=RegistrationStatus.choices,
        help_text="One registration status (the dashboard's spelling of `registration_status`)",
    )
    online = BooleanFilter(help_text="Connected to its gateway now")
    demo = BooleanFilter(help_text="Demo data: the simulated fleet `make run` provisions")
    vendor = filters.CharFilter(lookup_expr="iexact", help_text="chargePointVendor, case-insensitive")
    model = filters.CharFilter(lookup_expr="iexact", help_text="chargePointModel, case-insensitive")
    status = filters.MultipleChoiceFilter(
        choices=CONNECTOR_STATUSES,
        method="filter_status",
        help_text="Chargers with at least one connector (0 included) in this OCPP status (repeat for several)",
    )
    ocpp_version = VersionFilter(help_text="The OCPP version the charger speaks (1.6, 2.0.1)")

    class Meta:
        model = ChargePoint
        fields = [
            "q",
            "search",
            "state",
            "registration_status",
            "registration",
            "online",
            "demo",
            "vendor",
            "model",
            "status",
            "ocpp_version",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["ocpp_version"].extra["choices"] = version_choices()

    def filter_q(self, queryset: QuerySet[ChargePoint], name: str, value: str) -> QuerySet[ChargePoint]:
        fields = ("charge_point_id", "vendor", "model", "serial_number", "charge_box_serial_number")
        return _search(queryset, fields, value.strip()[:100])

    def filter_state(self, queryset: QuerySet[ChargePoint], name: str, value: str) -> QuerySet[ChargePoint]:
        if not value:
            return queryset
        # A condition on the expression, not on an annotation: the API's queryset has none.
        return queryset.filter(charger_state_is(value))

    def filter_status(self, queryset: QuerySet[ChargePoint], name: str, value: list[str]) -> QuerySet[ChargePoint]:
        if not value:
            return queryset
        # EXISTS rather than a join: no duplicate chargers, no DISTINCT.
        in_status = Connector.objects.filter(charge_point=OuterRef("pk"), status__in=value)
        return queryset.filter(Exists(in_status))


class ConnectorFilterSet(filters.FilterSet):
    """The connectors of one charger (the API's /chargers/{id}/connectors/)."""

    evse_id = IntegerFilter(
        min_value=0, max_value=2**31 - 1, help_text="Its EVSE (1.6: each connector is the EVSE of its number)"
    )
    connector_id = IntegerFilter(min_value=0, max_value=2**31 - 1)
    status = filters.MultipleChoiceFilter(choices=CONNECTOR_STATUSES)

    class Meta:
        model = Connector
        fields = ["evse_id", "connector_id", "status"]


class ConnectorStatusChangeFilterSet(filters.FilterSet):
    """A connector's status history."""

    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    status = filters.MultipleChoiceFilter(choices=CONNECTOR_STATUSES)

    class Meta:
        model = ConnectorStatusChange
        fields = ["received_after", "received_before", "status"]


class IdTagFilterSet(filters.FilterSet):
    """The authorization list: the API's and the dashboard's id tag page."""

    search = filters.CharFilter(field_name="id_tag", lookup_expr="icontains", help_text="Part of the id tag")
    status = filters.MultipleChoiceFilter(choices=IdTag._meta.get_field("status").choices)
    type = filters.MultipleChoiceFilter(
        choices=IdTokenType.choices, help_text="OCPP 2.0.1 IdTokenEnumType (repeat for several)"
    )
    parent = filters.CharFilter(field_name="parent__id_tag", help_text="The parent's id tag")
    expired = BooleanFilter(method="filter_expired", help_text="Expiry date in the past")
    demo = BooleanFilter(help_text="Demo data: the tags of the simulated fleet `make run` provisions")

    class Meta:
        model = IdTag
        fields = ["search", "status", "type", "parent", "expired", "demo"]

    def filter_expired(self, queryset: QuerySet[IdTag], name: str, value: bool | None) -> QuerySet[IdTag]:
        if value is None:
            return queryset
        if value:
            return queryset.filter(expiry_date__lte=timezone.now())
        return queryset.exclude(expiry_date__lte=timezone.now())


class DeviceVariableFilterSet(filters.FilterSet):
    """A 2.0.1 station's device model: the API's variables list and the charger page's device model card.

    Component and variable names are case-insensitive (OCPP CiString50).
    """

    component = filters.CharFilter(lookup_expr="iexact", help_text="Component name, e.g. EVSE, OCPPCommCtrlr")
    component_instance = filters.CharFilter(lookup_expr="iexact")
    variable = filters.CharFilter(lookup_expr="iexact", help_text="Variable name, e.g. HeartbeatInterval")
    variable_instance = filters.CharFilter(lookup_expr="iexact")
    evse_id = IntegerFilter(min_value=0, max_value=2**31 - 1, help_text="The component's EVSE")
    connector_id = IntegerFilter(min_value=0, max_value=2**31 - 1, help_text="The component's connector")
    station = BooleanFilter(
        field_name="evse_id", lookup_expr="isnull", help_text="true: station-wide components only (no EVSE)"
    )
    attribute_type = filters.MultipleChoiceFilter(
        choices=DeviceVariable.AttributeType.choices, help_text="Actual, Target, MinSet, MaxSet (repeat for several)"
    )
    mutability = filters.MultipleChoiceFilter(
        choices=DeviceVariable.Mutability.choices, help_text="ReadOnly, WriteOnly, ReadWrite (repeat for several)"
    )
    search = filters.CharFilter(method="filter_search", help_text="Part of the component or variable name")
    updated_after = IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte", help_text="Inclusive")

    class Meta:
        model = DeviceVariable
        fields = [
            "component",
            "component_instance",
            "variable",
            "variable_instance",
            "evse_id",
            "connector_id",
            "station",
            "attribute_type",
            "mutability",
            "search",
            "updated_after",
        ]

    def filter_search(self, queryset: QuerySet[DeviceVariable], name: str, value: str) -> QuerySet[DeviceVariable]:
        return _search(queryset, ("component", "variable"), value.strip()[:50])


def command_actions() -> list[str]:
    """The CSMS-initiated actions of every registered OCPP version, read when a request comes in.

    Read from the ports (``chargers.ports``), not from a version's action list: the domain names
    no version, and a version registered at start-up is filterable at once.
    """
    actions: set[str] = set()
    for version in ports.versions():
        actions |= ports.port_for(version).commands
    return sorted(actions)


class ActionField(filter_fields.MultipleChoiceField):
    """Actions, checked against the registered versions' commands (any name while none is registered)."""

    def valid_value(self, value: Any) -> bool:
        known = command_actions()
        return value in known if known else bool(value) and len(str(value)) <= 50


class ActionFilter(filters.MultipleChoiceFilter):
    field_class = ActionField


class CommandFilterSet(filters.FilterSet):
    """Commands sent (or queued) to chargers."""

    charge_point_id = filters.CharFilter(field_name="charge_point__charge_point_id", help_text="Charge point id")
    charge_point = filters.CharFilter(
        field_name="charge_point__charge_point_id", help_text="Deprecated: use `charge_point_id`"
    )
    action = ActionFilter(help_text="A CSMS-initiated OCPP action (repeat for several)")
    status = filters.MultipleChoiceFilter(choices=Command.Status.choices)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Command
        fields = ["charge_point_id", "charge_point", "action", "status", "created_after", "created_before"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request (filters are copied per instance): the versions registered now.
        self.filters["action"].extra["choices"] = [(a, a) for a in command_actions()]
