"""The device model services (chargers.device_model): one upsert per report, values without characteristics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chargers.device_model import (
    VariableAttribute,
    VariableCharacteristics,
    VariableKey,
    VariableReport,
    VariableValue,
    device_variable_value,
    device_variable_values_set,
    device_variables_report,
)
from chargers.models import ChargePoint, DeviceVariable

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ITEMS = VariableKey(component="DeviceDataCtrlr", variable="ItemsPerMessage", variable_instance="GetVariables")
CONNECTOR_TYPE = VariableKey(component="Connector", variable="ConnectorType", evse_id=1, connector_id=1)
INTEGER = VariableCharacteristics(data_type="integer", supports_monitoring=False, min_limit=1, max_limit=100)


def station() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CS-1", ocpp_version="2.0.1")


def test_a_report_stores_every_attribute_with_its_characteristics_in_one_statement() -> None:
    cp = station()
    items = [
        VariableReport(
            ITEMS,
            (
                VariableAttribute(value="4", mutability="ReadOnly", persistent=True, constant=True),
                VariableAttribute(type="MaxSet", value="10", mutability="ReadOnly"),
            ),
            INTEGER,
        ),
        VariableReport(CONNECTOR_TYPE, (VariableAttribute(value="cType2", mutability="ReadOnly"),)),
    ]
    with CaptureQueriesContext(connection) as queries:
        written = device_variables_report(charge_point=cp, items=items, now=NOW)
    assert written == 3
    # one staging table creation + COPY + INSERT per group (with characteristics / without)
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 2
    row = DeviceVariable.objects.get(charge_point=cp, variable="ItemsPerMessage", attribute_type="Actual")
    assert (row.value, row.mutability, row.persistent, row.constant) == ("4", "ReadOnly", True, True)
    assert (row.data_type, row.min_limit, row.max_limit, row.supports_monitoring) == ("integer", 1, 100, False)
    assert row.evse_id is None and row.variable_instance == "GetVariables"
    assert device_variable_value(charge_point=cp, component="DeviceDataCtrlr", variable="ItemsPerMessage") is None
    assert (
        device_variable_value(
            charge_point=cp, component="DeviceDataCtrlr", variable="ItemsPerMessage", instance="GetVariables"
        )
        == "4"
    )
    assert (
        device_variable_value(
            charge_point=cp, component="Connector", variable="ConnectorType", evse_id=1, connector_id=1
        )
        == "cType2"
    )


def test_a_second_report_updates_station_wide_rows_in_place_nulls_not_distinct() -> None:
    cp = station()
    device_variables_report(
        charge_point=cp, items=[VariableReport(ITEMS, (VariableAttribute(value="4"),), INTEGER)], now=NOW
    )
    later = NOW + timedelta(minutes=1)
    # Reported again without characteristics: the value changes, the characteristics stay.
    device_variables_report(charge_point=cp, items=[VariableReport(ITEMS, (VariableAttribute(value="8"),))], now=later)
    row = DeviceVariable.objects.get(charge_point=cp)
    assert (row.value, row.data_type, row.max_limit, row.updated_at) == ("8", "integer", 100, later)


def test_values_set_changes_the_value_only_and_creates_unknown_variables() -> None:
    cp = station()
    device_variables_report(
        charge_point=cp,
        items=[VariableReport(ITEMS, (VariableAttribute(value="4", mutability="ReadWrite"),), INTEGER)],
        now=NOW,
    )
    heartbeat = VariableKey(component="OCPPCommCtrlr", variable="HeartbeatInterval")
    device_variable_values_set(
        charge_point=cp,
        values=[VariableValue(ITEMS, "2"), VariableValue(ITEMS, "3"), VariableValue(heartbeat, "60")],
        now=NOW,
    )
    row = DeviceVariable.objects.get(charge_point=cp, variable="ItemsPerMessage")
    assert (row.value, row.mutability, row.data_type) == ("3", "ReadWrite", "integer")
    assert device_variable_value(charge_point=cp, component="OCPPCommCtrlr", variable="HeartbeatInterval") == "60"
    assert DeviceVariable.objects.filter(charge_point=cp).count() == 2
