"""Requests cut to the station's limits (protocols.v201.commands.command_split): ItemsPerMessage and
BytesPerMessage of DeviceDataCtrlr (GetVariables, SetVariables, GetReport) and MonitoringCtrlr
(SetVariableMonitoring, ClearVariableMonitoring), through command_enqueue as every caller queues."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chargers.commands import CommandError, commands_enqueue
from chargers.models import ChargePoint

from .conftest import reported

pytestmark = pytest.mark.django_db


def queued(station: ChargePoint, action: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [command.request for command in commands_enqueue(charge_point=station, action=action, payload=payload)]


def wire_size(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())


def variables(count: int) -> list[dict[str, Any]]:
    return [
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": f"Variable{index:02}"}} for index in range(count)
    ]


def test_TC_B_08_CSMS_get_variables_are_cut_by_bytes_per_message(station: ChargePoint) -> None:
    reported(station, "DeviceDataCtrlr", "BytesPerMessage", "300", instance="GetVariables", mutability="ReadOnly")
    items = variables(12)
    parts = queued(station, "GetVariables", {"getVariableData": items})
    assert len(parts) > 1
    assert all(wire_size(part) <= 300 for part in parts)
    assert [item for part in parts for item in part["getVariableData"]] == items


def test_set_variables_are_cut_by_the_smaller_of_items_and_bytes(station: ChargePoint) -> None:
    reported(station, "DeviceDataCtrlr", "ItemsPerMessage", "5", instance="SetVariables", mutability="ReadOnly")
    reported(station, "DeviceDataCtrlr", "BytesPerMessage", "10000", instance="SetVariables", mutability="ReadOnly")
    items = [{"attributeValue": "1", **item} for item in variables(7)]
    parts = queued(station, "SetVariables", {"setVariableData": items})
    assert [len(part["setVariableData"]) for part in parts] == [5, 2]


def test_TC_B_18_CSMS_get_report_component_variables_cut_by_items_per_message_each_its_own_request_id(
    station: ChargePoint,
) -> None:
    reported(station, "DeviceDataCtrlr", "ItemsPerMessage", "2", instance="GetReport", mutability="ReadOnly")
    wanted = [{"component": {"name": "EVSE", "evse": {"id": evse}}, "variable": {"name": "AvailabilityState"}}
              for evse in (1, 2, 3)]  # fmt: skip
    parts = queued(
        station, "GetReport", {"requestId": 40, "componentCriteria": ["Available"], "componentVariable": wanted}
    )
    assert [len(part["componentVariable"]) for part in parts] == [2, 1]
    # Each part is a report of its own: its NotifyReport parts must not mix with the other's.
    assert [part["requestId"] for part in parts] == [40, 41]
    assert all(part["componentCriteria"] == ["Available"] for part in parts)


def test_get_report_cut_by_bytes_per_message_and_one_without_component_variables_goes_whole(
    station: ChargePoint,
) -> None:
    reported(station, "DeviceDataCtrlr", "BytesPerMessage", "150", instance="GetReport", mutability="ReadOnly")
    parts = queued(station, "GetReport", {"requestId": 1, "componentVariable": variables(4)})
    assert len(parts) > 1 and all(wire_size(part) <= 150 for part in parts)
    assert queued(station, "GetReport", {"requestId": 9, "componentCriteria": ["Problem"]}) == [
        {"requestId": 9, "componentCriteria": ["Problem"]}
    ]


def test_an_item_too_big_for_bytes_per_message_alone_is_refused_naming_it(station: ChargePoint) -> None:
    reported(station, "DeviceDataCtrlr", "BytesPerMessage", "120", instance="SetVariables", mutability="ReadOnly")
    items = [{"attributeValue": "x", **variables(1)[0]}, {"attributeValue": "y" * 200, **variables(2)[1]}]
    with pytest.raises(CommandError) as refused:
        queued(station, "SetVariables", {"setVariableData": items})
    assert "setVariableData.1" in refused.value.errors
    assert "120 bytes" in refused.value.message


def test_TC_N_18_CSMS_clear_monitoring_cut_by_monitoring_ctrlr_items_per_message(station: ChargePoint) -> None:
    reported(
        station, "MonitoringCtrlr", "ItemsPerMessage", "3", instance="ClearVariableMonitoring", mutability="ReadOnly"
    )
    # DeviceDataCtrlr's limit is another controller's: it does not apply.
    reported(station, "DeviceDataCtrlr", "ItemsPerMessage", "1", instance="ClearVariableMonitoring")
    parts = queued(station, "ClearVariableMonitoring", {"id": [1, 2, 3, 4, 5]})
    assert [part["id"] for part in parts] == [[1, 2, 3], [4, 5]]


def test_set_variable_monitoring_cut_by_monitoring_ctrlr_items_per_message(station: ChargePoint) -> None:
    reported(
        station, "MonitoringCtrlr", "ItemsPerMessage", "1", instance="SetVariableMonitoring", mutability="ReadOnly"
    )
    data = [
        {"value": 10 + index, "type": "UpperThreshold", "severity": 5, **item}
        for index, item in enumerate(variables(2))
    ]
    parts = queued(station, "SetVariableMonitoring", {"setMonitoringData": data})
    assert [part["setMonitoringData"] for part in parts] == [[data[0]], [data[1]]]


def test_without_limits_nothing_is_cut(station: ChargePoint) -> None:
    payload = {"getVariableData": variables(30)}
    assert queued(station, "GetVariables", payload) == [payload]
