"""A 2.0.1 station's device model as we keep it: what NotifyReport, GetVariables and SetVariables tell us.

One ``DeviceVariable`` row per (component, its instance, EVSE, connector, variable, its instance,
attribute type), as ``ConfigurationKey`` is one row per 1.6 key. Services take parsed values (the
protocol package reads the payloads); every write is one upsert whatever the number of variables,
since a full inventory brings hundreds of them, in parts, and a station's parts arrive one by one.

Two writers of variables, two meanings:
- ``device_variables_report`` (NotifyReport): the station describes its variables. Every column it
  reports is written, characteristics included; a variable reported without characteristics keeps
  those a previous report gave (a GetReport of values only must not erase the units).
- ``device_variable_values_set`` (a GetVariables result, an accepted SetVariables): a value only.
  Characteristics, mutability and the other attributes' rows are left as they are.

What else a station says of its device model is kept as ``ChargerEvent`` rows: each part of a report
(``device_report_part_record``: which request it answers, its number, whether more follow), so that
the read side can tell a complete report from one still coming in (``device_report_progress``), and
each event of a NotifyEvent (``device_events_record``).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from django.db.models.functions import Lower

from backoffice import bulk

from .models import ChargePoint, ChargerEvent, DeviceVariable


@dataclasses.dataclass(frozen=True)
class VariableKey:
    """Which variable: its component (and the component's EVSE and connector, if any) and its name."""

    component: str
    variable: str
    component_instance: str = ""
    variable_instance: str = ""
    evse_id: int | None = None
    connector_id: int | None = None


@dataclasses.dataclass(frozen=True)
class VariableAttribute:
    """One attribute (Actual, Target, MinSet, MaxSet) of a reported variable (VariableAttributeType)."""

    type: str = DeviceVariable.AttributeType.ACTUAL
    value: str | None = None
    mutability: str = ""
    persistent: bool | None = None
    constant: bool | None = None


@dataclasses.dataclass(frozen=True)
class VariableCharacteristics:
    """VariableCharacteristicsType: what kind of value the variable holds."""

    data_type: str
    supports_monitoring: bool | None = None
    unit: str = ""
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str = ""


@dataclasses.dataclass(frozen=True)
class VariableReport:
    """One ReportDataType of a NotifyReport: a variable, its attributes, its characteristics if reported."""

    key: VariableKey
    attributes: tuple[VariableAttribute, ...]
    characteristics: VariableCharacteristics | None = None


@dataclasses.dataclass(frozen=True)
class VariableValue:
    """The value of one attribute of a variable, as a GetVariables result or an accepted SetVariables gives it."""

    key: VariableKey
    value: str | None
    attribute_type: str = DeviceVariable.AttributeType.ACTUAL


_KEY_FIELDS = (
    "charge_point_id",
    "component",
    "component_instance",
    "evse_id",
    "connector_id",
    "variable",
    "variable_instance",
    "attribute_type",
)
_ATTRIBUTE_FIELDS = ("value", "mutability", "persistent", "constant")
_CHARACTERISTIC_FIELDS = ("unit", "data_type", "min_limit", "max_limit", "values_list", "supports_monitoring")


def _key_row(charge_point: ChargePoint, key: VariableKey, attribute_type: str) -> tuple[Any, ...]:
    return (
        charge_point.pk,
        key.component,
        key.component_instance,
        key.evse_id,
        key.connector_id,
        key.variable,
        key.variable_instance,
        attribute_type,
    )


def _conflict(columns: tuple[str, ...]) -> str:
    target = ", ".join(bulk.columns_of(DeviceVariable, list(_KEY_FIELDS)))
    assignments = [f"{column} = EXCLUDED.{column}" for column in bulk.columns_of(DeviceVariable, list(columns))]
    return f"ON CONFLICT ({target}) DO UPDATE SET {', '.join(assignments)}"


def device_variables_report(*, charge_point: ChargePoint, items: list[VariableReport], now: datetime) -> int:
    """Store what a NotifyReport part says of the station's variables; return how many attribute rows it wrote.

    At most two upserts: the attributes of variables reported with characteristics write those too,
    the others keep the characteristics they had (a new row gets none). A variable reported twice in
    one part: the last report of each attribute wins (one upsert cannot touch a row twice).
    """
    with_characteristics: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    without: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for item in items:
        characteristics = item.characteristics
        for attribute in item.attributes:
            key = _key_row(charge_point, item.key, attribute.type)
            values = (attribute.value, attribute.mutability, attribute.persistent, attribute.constant)
            if characteristics is None:
                without[key] = values
                with_characteristics.pop(key, None)
            else:
                with_characteristics[key] = (
                    *values,
                    characteristics.unit,
                    characteristics.data_type,
                    characteristics.min_limit,
                    characteristics.max_limit,
                    characteristics.values_list,
                    characteristics.supports_monitoring,
                )
                without.pop(key, None)
    if with_characteristics:
        written: tuple[str, ...] = (*_ATTRIBUTE_FIELDS, *_CHARACTERISTIC_FIELDS, "updated_at")
        bulk.copy_insert(
            model=DeviceVariable,
            fields=(*_KEY_FIELDS, *written),
            rows=[(*key, *values, now) for key, values in with_characteristics.items()],
            on_conflict=_conflict(written),
        )
    if without:
        written = (*_ATTRIBUTE_FIELDS, "updated_at")
        # A new row needs its NOT NULL text columns: no unit, no data type, no values list.
        bulk.copy_insert(
            model=DeviceVariable,
            fields=(*_KEY_FIELDS, *written, "unit", "data_type", "values_list"),
            rows=[(*key, *values, now, "", "", "") for key, values in without.items()],
            on_conflict=_conflict(written),
        )
    return len(with_characteristics) + len(without)


def device_variable_values_set(*, charge_point: ChargePoint, values: list[VariableValue], now: datetime) -> None:
    """Store the values of variables (a GetVariables result, an accepted SetVariables), in one upsert.

    Only the value (and ``updated_at``) of an existing row changes; a variable no report described yet
    gets a row with the value alone. The last value of an attribute in ``values`` wins.
    """
    rows: dict[tuple[Any, ...], str | None] = {}
    for item in values:
        rows[_key_row(charge_point, item.key, item.attribute_type)] = item.value
    if not rows:
        return
    bulk.copy_insert(
        model=DeviceVariable,
        fields=(*_KEY_FIELDS, "value", "updated_at", "mutability", "unit", "data_type", "values_list"),
        rows=[(*key, value, now, "", "", "", "") for key, value in rows.items()],
        on_conflict=_conflict(("value", "updated_at")),
    )


def device_variable_value(
    *,
    charge_point: ChargePoint,
    component: str,
    variable: str,
    instance: str = "",
    component_instance: str = "",
    evse_id: int | None = None,
    connector_id: int | None = None,
    attribute_type: str = DeviceVariable.AttributeType.ACTUAL,
) -> str | None:
    """The value we last heard for one attribute of a variable (``instance``: the variable's), or None.

    None both when the variable is unknown to us and when the station reported it without a value
    (a WriteOnly variable): either way there is nothing to rely on.
    """
    return (
        DeviceVariable.objects.filter(
            charge_point=charge_point,
            component=component,
            component_instance=component_instance,
            evse_id=evse_id,
            connector_id=connector_id,
            variable=variable,
            variable_instance=instance,
            attribute_type=attribute_type,
        )
        .values_list("value", flat=True)
        .first()
    )


def _folded(key: VariableKey, attribute_type: str) -> tuple[Any, ...]:
    """A variable attribute's identity for matching: component and variable names are case-insensitive."""
    return (
        key.component.lower(),
        key.component_instance.lower(),
        key.evse_id,
        key.connector_id,
        key.variable.lower(),
        key.variable_instance.lower(),
        attribute_type,
    )


def _row_key(row: DeviceVariable) -> VariableKey:
    return VariableKey(
        component=row.component,
        variable=row.variable,
        component_instance=row.component_instance,
        variable_instance=row.variable_instance,
        evse_id=row.evse_id,
        connector_id=row.connector_id,
    )


def device_variables_find(
    *, charge_point: ChargePoint, keys: list[tuple[VariableKey, str]]
) -> dict[tuple[VariableKey, str], DeviceVariable]:
    """The rows we hold of these (variable, attribute type) pairs, names matched case-insensitively, in one
    query; a pair we know nothing of is left out."""
    if not keys:
        return {}
    names = {key.variable.lower() for key, _ in keys}
    rows = DeviceVariable.objects.annotate(variable_folded=Lower("variable")).filter(
        charge_point=charge_point, variable_folded__in=names
    )
    by_identity = {_folded(_row_key(row), row.attribute_type): row for row in rows}
    found: dict[tuple[VariableKey, str], DeviceVariable] = {}
    for key, attribute_type in keys:
        row = by_identity.get(_folded(key, attribute_type))
        if row is not None:
            found[(key, attribute_type)] = row
    return found


def device_characteristics_of(*, charge_point: ChargePoint, key: VariableKey) -> DeviceVariable | None:
    """A row of the variable that carries its characteristics (any attribute: a report writes them on each)."""
    rows = device_variables_find(
        charge_point=charge_point, keys=[(key, attribute) for attribute in DeviceVariable.AttributeType.values]
    )
    return next((row for row in rows.values() if row.data_type), None)


_BOOLEANS = ("true", "false")


def device_value_problem(*, row: DeviceVariable, value: str) -> str | None:
    """Why ``value`` cannot be set on the variable ``row`` describes (its dataType, minLimit, maxLimit,
    valuesList as the station reported them), or None when it can (or when nothing is known to check).

    For a string or a list type, maxLimit is the maximum length (VariableCharacteristicsType).
    """
    data_type = row.data_type
    if data_type in ("integer", "decimal"):
        try:
            number = float(int(value)) if data_type == "integer" else float(value)
        except ValueError:
            return f"{value!r} is not {'an integer' if data_type == 'integer' else 'a decimal'}"
        if row.min_limit is not None and number < row.min_limit:
            return f"{value} is below the minimum {row.min_limit:g}"
        if row.max_limit is not None and number > row.max_limit:
            return f"{value} is above the maximum {row.max_limit:g}"
        return None
    if data_type == "boolean":
        return None if value.lower() in _BOOLEANS else f"{value!r} is not a boolean (true or false)"
    if data_type == "dateTime":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not a date-time"
        return None
    if data_type in ("string", "OptionList", "MemberList", "SequenceList") and row.max_limit is not None:
        if len(value) > row.max_limit:
            return f"{len(value)} characters, over the maximum length {row.max_limit:g}"
    allowed = [option.strip() for option in row.values_list.split(",") if option.strip()]
    if allowed and data_type in ("OptionList", "MemberList", "SequenceList"):
        chosen = [value] if data_type == "OptionList" else [part.strip() for part in value.split(",")]
        outside = [part for part in chosen if part not in allowed]
        if outside:
            return f"{', '.join(outside)} not in the values list {', '.join(allowed)}"
    return None


# --- reports and events ----------------------------------------------------------------------------

#: The ``ChargerEvent.status`` of a report part's record.
REPORT_PART = "NotifyReport"


def device_report_part_record(
    *,
    charge_point: ChargePoint,
    request_id: int,
    seq_no: int,
    tbc: bool,
    generated_at: datetime,
    variables: int,
    now: datetime,
) -> ChargerEvent:
    """Keep that part ``seq_no`` of report ``request_id`` came (``tbc``: more parts follow), with how
    many variables it carried. The variables themselves are ``device_variables_report``'s."""
    return ChargerEvent.objects.create(
        charge_point=charge_point,
        kind=ChargerEvent.Kind.NOTIFICATION,
        status=REPORT_PART,
        detail={"requestId": request_id, "seqNo": seq_no, "tbc": tbc, "variables": variables},
        charger_timestamp=generated_at,
        received_at=now,
    )


@dataclasses.dataclass(frozen=True)
class ReportProgress:
    """What came of one report: its parts' numbers, whether the last one (tbc false) came, the variables."""

    request_id: int
    parts: tuple[int, ...]
    complete: bool
    variables: int

    @property
    def missing(self) -> tuple[int, ...]:
        """Part numbers not received below the highest one received (parts may arrive out of order)."""
        return tuple(sorted(set(range(max(self.parts, default=-1) + 1)) - set(self.parts)))


def device_report_progress(*, charge_point: ChargePoint, request_id: int) -> ReportProgress:
    """The parts of report ``request_id`` received so far (a redelivered part counts once)."""
    details = ChargerEvent.objects.filter(
        charge_point=charge_point,
        kind=ChargerEvent.Kind.NOTIFICATION,
        status=REPORT_PART,
        detail__requestId=request_id,
    ).values_list("detail", flat=True)
    parts: dict[int, dict[str, Any]] = {}
    for detail in details:
        parts[detail["seqNo"]] = detail
    return ReportProgress(
        request_id=request_id,
        parts=tuple(sorted(parts)),
        complete=any(not part["tbc"] for part in parts.values()),
        variables=sum(part["variables"] for part in parts.values()),
    )


@dataclasses.dataclass(frozen=True)
class DeviceEvent:
    """One EventDataType of a NotifyEvent: ``status`` names what it is about, ``detail`` keeps it whole."""

    status: str
    detail: dict[str, Any]
    timestamp: datetime


def device_events_record(*, charge_point: ChargePoint, events: list[DeviceEvent], now: datetime) -> None:
    """Keep the events of a NotifyEvent, one ``NOTIFY_EVENT`` row each (filterable by component and
    variable, the ``status``), in one INSERT."""
    ChargerEvent.objects.bulk_create(
        [
            ChargerEvent(
                charge_point=charge_point,
                kind=ChargerEvent.Kind.NOTIFY_EVENT,
                status=event.status[:64],
                detail=event.detail,
                charger_timestamp=event.timestamp,
                received_at=now,
            )
            for event in events
        ]
    )


__all__ = [
    "REPORT_PART",
    "DeviceEvent",
    "ReportProgress",
    "device_events_record",
    "device_report_part_record",
    "device_report_progress",
    "VariableAttribute",
    "VariableCharacteristics",
    "VariableKey",
    "VariableReport",
    "VariableValue",
    "device_characteristics_of",
    "device_value_problem",
    "device_variable_value",
    "device_variables_find",
    "device_variable_values_set",
    "device_variables_report",
]
