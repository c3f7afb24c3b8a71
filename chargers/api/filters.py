"""FilterSets of the fleet API (query parameters, validated: a bad value is a 400, never a 500)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from chargers.commands import SUPPORTED_ACTIONS
from chargers.models import ChargePoint, Command, Connector, ConnectorStatusChange, IdTag, RegistrationStatus
from gateway.models import ChargerCredential

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
        "Unavailable",
        "Faulted",
        "Unknown",
    )
]


class IntegerFilter(filters.NumberFilter):
    """A whole number (NumberFilter alone would take 1.5 and round it)."""

    field_class = forms.IntegerField


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class StrictBooleanWidget(forms.TextInput):
    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class StrictBooleanField(forms.Field):
    """true/false/1/0; anything else is an error (django-filter's own ignores what it cannot read)."""

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
    field_class = StrictBooleanField

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


class ChargePointFilter(filters.FilterSet):
    search = filters.CharFilter(
        field_name="charge_point_id", lookup_expr="icontains", help_text="Part of the charge point id"
    )
    registration_status = filters.MultipleChoiceFilter(
        choices=RegistrationStatus.choices, help_text="Accepted, Pending or Rejected (repeat for several)"
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

    class Meta:
        model = ChargePoint
        fields = ["search", "registration_status", "online", "demo", "vendor", "model", "status"]

    def filter_status(self, queryset: QuerySet[ChargePoint], name: str, value: list[str]) -> QuerySet[ChargePoint]:
        if not value:
            return queryset
        # EXISTS rather than a join: no duplicate chargers, no DISTINCT.
        in_status = Connector.objects.filter(charge_point=OuterRef("pk"), status__in=value)
        return queryset.filter(Exists(in_status))


class ConnectorStatusChangeFilter(filters.FilterSet):
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    status = filters.MultipleChoiceFilter(choices=CONNECTOR_STATUSES)

    class Meta:
        model = ConnectorStatusChange
        fields = ["received_after", "received_before", "status"]


class IdTagFilter(filters.FilterSet):
    search = filters.CharFilter(field_name="id_tag", lookup_expr="icontains", help_text="Part of the id tag")
    status = filters.MultipleChoiceFilter(choices=IdTag._meta.get_field("status").choices)
    parent = filters.CharFilter(field_name="parent__id_tag", help_text="The parent's id tag")
    expired = BooleanFilter(method="filter_expired", help_text="Expiry date in the past")
    demo = BooleanFilter(help_text="Demo data: the tags of the simulated fleet `make run` provisions")

    class Meta:
        model = IdTag
        fields = ["search", "status", "parent", "expired", "demo"]

    def filter_expired(self, queryset: QuerySet[IdTag], name: str, value: bool | None) -> QuerySet[IdTag]:
        if value is None:
            return queryset
        if value:
            return queryset.filter(expiry_date__lte=timezone.now())
        return queryset.exclude(expiry_date__lte=timezone.now())


class CommandFilter(filters.FilterSet):
    charge_point_id = filters.CharFilter(field_name="charge_point__charge_point_id", help_text="Charge point id")
    charge_point = filters.CharFilter(
        field_name="charge_point__charge_point_id", help_text="Deprecated: use `charge_point_id`"
    )
    action = filters.MultipleChoiceFilter(choices=[(a, a) for a in sorted(SUPPORTED_ACTIONS)])
    status = filters.MultipleChoiceFilter(choices=Command.Status.choices)
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Command
        fields = ["charge_point_id", "charge_point", "action", "status", "created_after", "created_before"]


class CredentialFilter(filters.FilterSet):
    search = filters.CharFilter(field_name="charge_point_id", lookup_expr="icontains")
    enabled = BooleanFilter()

    class Meta:
        model = ChargerCredential
        fields = ["search", "enabled"]
