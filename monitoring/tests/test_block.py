"""The monitoring block (protocols.v201.monitoring) driven as the bridge drives it: commands queued with
command_enqueue, marked sent, answered through results_handle; station Calls through calls_handle."""

from __future__ import annotations

from typing import Any

import pytest

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, ChargerEvent, DeviceVariable
from monitoring.models import MonitoringReportPart, MonitoringSettings, StationFault, VariableMonitor
from monitoring.selectors import reboot_pending, station_monitoring
from mqtt_bridge.frames import Kind
from protocols.v201.tests.calls import AT, BOOT, handle

from .conftest import call, reported

pytestmark = pytest.mark.django_db

TEMPERATURE = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Temperature"}}
HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


def monitor_data(value: float = 60, kind: str = "UpperThreshold", severity: int = 2, **item: Any) -> dict[str, Any]:
    return {"value": value, "type": kind, "severity": severity, **TEMPERATURE, **item}


def monitor_result(
    monitor_id: int | None, status: str = "Accepted", kind: str = "UpperThreshold", severity: int = 2
) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status, "type": kind, "severity": severity, **TEMPERATURE}
    if monitor_id is not None:
        result["id"] = monitor_id
    return result


def refused(station: ChargePoint, action: str, payload: dict[str, Any]) -> CommandError:
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=station, action=action, payload=payload)
    return caught.value


# --- B05 / B06: SetVariables with mutability and characteristics ----------------------------------


def test_TC_B_09_CSMS_a_read_only_variable_is_refused_naming_the_item(station: ChargePoint) -> None:
    reported(station, "OCPPCommCtrlr", "HeartbeatInterval", "300", data_type="integer")
    reported(station, "SecurityCtrlr", "Identity", "CS-MON", mutability="ReadOnly", data_type="string")
    items = [
        {"attributeValue": "120", **HEARTBEAT},
        {"attributeValue": "other", "component": {"name": "securityctrlr"}, "variable": {"name": "Identity"}},
    ]
    error = refused(station, "SetVariables", {"setVariableData": items})
    assert "setVariableData.1" in error.errors
    assert "securityctrlr.Identity is ReadOnly" in error.message  # names are case-insensitive
    # Without the read-only item the command goes.
    assert command_enqueue(charge_point=station, action="SetVariables", payload={"setVariableData": items[:1]})


@pytest.mark.parametrize(
    ("characteristics", "value", "problem"),
    [
        ({"data_type": "integer", "min_limit": 1, "max_limit": 3600}, "0", "below the minimum 1"),
        ({"data_type": "integer", "min_limit": 1, "max_limit": 3600}, "4000", "above the maximum 3600"),
        ({"data_type": "integer"}, "12.5", "not an integer"),
        ({"data_type": "decimal"}, "fast", "not a decimal"),
        ({"data_type": "boolean"}, "yes", "not a boolean"),
        ({"data_type": "OptionList", "values_list": "Local,Remote"}, "Both", "not in the values list"),
        ({"data_type": "MemberList", "values_list": "A,B,C"}, "A,D", "D not in the values list"),
        ({"data_type": "string", "max_limit": 4}, "toolong", "over the maximum length 4"),
        ({"data_type": "dateTime"}, "tomorrow", "not a date-time"),
    ],
)
def test_TC_B_10_CSMS_a_value_outside_the_characteristics_is_refused(
    station: ChargePoint, characteristics: dict[str, Any], value: str, problem: str
) -> None:
    reported(station, "OCPPCommCtrlr", "HeartbeatInterval", "300", **characteristics)
    error = refused(station, "SetVariables", {"setVariableData": [{"attributeValue": value, **HEARTBEAT}]})
    assert problem in error.errors["setVariableData.0.attributeValue"][0]


@pytest.mark.parametrize(
    ("characteristics", "value"),
    [
        ({"data_type": "integer", "min_limit": 1, "max_limit": 3600}, "3600"),
        ({"data_type": "boolean"}, "TRUE"),
        ({"data_type": "OptionList", "values_list": "Local,Remote"}, "Remote"),
        ({"data_type": "SequenceList", "values_list": "A,B,C"}, "C,A"),
        ({"data_type": "dateTime"}, "2026-12-01T10:00:00Z"),
    ],
)
def test_a_value_within_the_characteristics_goes(
    station: ChargePoint, characteristics: dict[str, Any], value: str
) -> None:
    reported(station, "OCPPCommCtrlr", "HeartbeatInterval", "300", **characteristics)
    command_enqueue(
        charge_point=station,
        action="SetVariables",
        payload={"setVariableData": [{"attributeValue": value, **HEARTBEAT}]},
    )


def test_an_unknown_variable_is_left_to_the_station(station: ChargePoint) -> None:
    command_enqueue(
        charge_point=station, action="SetVariables", payload={"setVariableData": [{"attributeValue": "x", **HEARTBEAT}]}
    )


def test_TC_B_09_CSMS_reboot_required_is_shown_until_the_next_boot(station: ChargePoint) -> None:
    reported(station, "OCPPCommCtrlr", "HeartbeatInterval", "300", data_type="integer")
    network = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "NetworkConfigurationPriority"}}
    result = {
        "setVariableResult": [
            {"attributeStatus": "RebootRequired", **HEARTBEAT},
            {"attributeStatus": "Accepted", **network},
        ]
    }
    payload = {"setVariableData": [{"attributeValue": "120", **HEARTBEAT}, {"attributeValue": "1", **network}]}
    command = call(station, "SetVariables", payload, result)
    assert command.status == "accepted"
    pending = reboot_pending(charge_point=station)
    assert [(p.variable, p.value) for p in pending] == [("OCPPCommCtrlr.HeartbeatInterval", "120")]
    assert station_monitoring(charge_point=station).reboot_pending == pending
    # The core stored the value we set (in effect after the reboot).
    assert DeviceVariable.objects.get(charge_point=station, variable="HeartbeatInterval").value == "120"

    handle("BootNotification", BOOT, "boot-1", cid=station.charge_point_id)
    station.refresh_from_db()
    assert reboot_pending(charge_point=station) == []


# --- N04: SetVariableMonitoring --------------------------------------------------------------------


def test_TC_N_08_CSMS_an_accepted_monitor_is_kept_with_the_value_asked(station: ChargePoint) -> None:
    command = call(
        station,
        "SetVariableMonitoring",
        {"setMonitoringData": [monitor_data(60.5, transaction=True)]},
        {"setMonitoringResult": [monitor_result(7)]},
    )
    assert command.status == "accepted"
    monitor = VariableMonitor.objects.get(charge_point=station)
    assert (monitor.monitor_id, monitor.component, monitor.evse_id, monitor.variable) == (7, "EVSE", 1, "Temperature")
    assert (monitor.type, monitor.value, monitor.severity, monitor.transaction, monitor.source) == (
        "UpperThreshold", 60.5, 2, True, "csms"
    )  # fmt: skip


def test_TC_N_09_CSMS_multiple_elements_only_accepted_ones_are_kept(station: ChargePoint) -> None:
    data = [monitor_data(60), monitor_data(5, "LowerThreshold", 4), monitor_data(30, "Periodic", 8)]
    results = [
        monitor_result(1),
        monitor_result(None, "Rejected", "LowerThreshold", 4),
        monitor_result(3, "Accepted", "Periodic", 8),
    ]
    call(station, "SetVariableMonitoring", {"setMonitoringData": data}, {"setMonitoringResult": results})
    kept = VariableMonitor.objects.filter(charge_point=station).order_by("monitor_id")
    assert [(m.monitor_id, m.type, m.value) for m in kept] == [(1, "UpperThreshold", 60), (3, "Periodic", 30)]


def test_a_monitor_set_again_with_its_id_is_replaced(station: ChargePoint) -> None:
    call(
        station,
        "SetVariableMonitoring",
        {"setMonitoringData": [monitor_data(60)]},
        {"setMonitoringResult": [monitor_result(7)]},
    )
    call(
        station,
        "SetVariableMonitoring",
        {"setMonitoringData": [monitor_data(70, id=7)]},
        {"setMonitoringResult": [monitor_result(7)]},
    )
    assert list(VariableMonitor.objects.filter(charge_point=station).values_list("monitor_id", "value")) == [(7, 70)]


def test_set_variable_monitoring_checks(station: ChargePoint) -> None:
    assert (
        "setMonitoringData.0.severity"
        in refused(station, "SetVariableMonitoring", {"setMonitoringData": [monitor_data(severity=10)]}).errors
    )
    assert (
        "setMonitoringData.0.value"
        in refused(station, "SetVariableMonitoring", {"setMonitoringData": [monitor_data(0, "Periodic")]}).errors
    )
    twice = {"setMonitoringData": [monitor_data(id=4), monitor_data(70, id=4)]}
    assert "setMonitoringData.1.id" in refused(station, "SetVariableMonitoring", twice).errors
    reported(station, "EVSE", "Temperature", "25", evse_id=1, data_type="decimal", supports_monitoring=False)
    error = refused(station, "SetVariableMonitoring", {"setMonitoringData": [monitor_data()]})
    assert "does not support monitoring" in error.message and "setMonitoringData.0" in error.errors


def test_a_variable_that_supports_monitoring_takes_a_monitor(station: ChargePoint) -> None:
    reported(station, "EVSE", "Temperature", "25", evse_id=1, data_type="decimal", supports_monitoring=True)
    command_enqueue(
        charge_point=station, action="SetVariableMonitoring", payload={"setMonitoringData": [monitor_data()]}
    )


# --- N06: ClearVariableMonitoring --------------------------------------------------------------------


def test_TC_N_44_CSMS_a_rejected_clear_keeps_the_monitor_an_accepted_one_removes_it(station: ChargePoint) -> None:
    data = [monitor_data(60), monitor_data(5, "LowerThreshold", 4)]
    results = [monitor_result(1), monitor_result(2, "Accepted", "LowerThreshold", 4)]
    call(station, "SetVariableMonitoring", {"setMonitoringData": data}, {"setMonitoringResult": results})
    call(station, "ClearVariableMonitoring", {"id": [1]}, {"clearMonitoringResult": [{"status": "Rejected", "id": 1}]})
    assert VariableMonitor.objects.filter(charge_point=station).count() == 2
    call(
        station,
        "ClearVariableMonitoring",
        {"id": [1, 2, 9]},
        {
            "clearMonitoringResult": [
                {"status": "Accepted", "id": 1},
                {"status": "Rejected", "id": 2},
                {"status": "NotFound", "id": 9},
            ]
        },
    )
    assert list(VariableMonitor.objects.filter(charge_point=station).values_list("monitor_id", flat=True)) == [2]
    assert "id.1" in refused(station, "ClearVariableMonitoring", {"id": [3, 3]}).errors


# --- N03 / N05: base and level ----------------------------------------------------------------------


def test_TC_N_05_CSMS_set_monitoring_base_and_factory_default_drops_our_monitors(station: ChargePoint) -> None:
    call(
        station,
        "SetVariableMonitoring",
        {"setMonitoringData": [monitor_data()]},
        {"setMonitoringResult": [monitor_result(7)]},
    )
    call(station, "SetMonitoringBase", {"monitoringBase": "All"}, {"status": "Accepted"})
    assert MonitoringSettings.objects.get(charge_point=station).monitoring_base == "All"
    assert VariableMonitor.objects.filter(charge_point=station).exists()
    call(station, "SetMonitoringBase", {"monitoringBase": "FactoryDefault"}, {"status": "Accepted"})
    assert MonitoringSettings.objects.get(charge_point=station).monitoring_base == "FactoryDefault"
    assert not VariableMonitor.objects.filter(charge_point=station).exists()
    call(station, "SetMonitoringBase", {"monitoringBase": "HardWiredOnly"}, {"status": "NotSupported"})
    assert MonitoringSettings.objects.get(charge_point=station).monitoring_base == "FactoryDefault"


def test_TC_N_16_CSMS_set_monitoring_level_accepted(station: ChargePoint) -> None:
    command = call(station, "SetMonitoringLevel", {"severity": 4}, {"status": "Accepted"})
    assert command.status == "accepted"
    assert MonitoringSettings.objects.get(charge_point=station).monitoring_level == 4


def test_TC_N_17_CSMS_set_monitoring_level_out_of_range_is_refused_and_a_rejection_changes_nothing(
    station: ChargePoint,
) -> None:
    assert "severity" in refused(station, "SetMonitoringLevel", {"severity": 10}).errors
    call(station, "SetMonitoringLevel", {"severity": 4}, {"status": "Accepted"})
    command = call(station, "SetMonitoringLevel", {"severity": 9}, {"status": "Rejected"})
    assert command.status == "rejected"
    assert MonitoringSettings.objects.get(charge_point=station).monitoring_level == 4


# --- N02: GetMonitoringReport / NotifyMonitoringReport ------------------------------------------------


def report_part(request_id: int, seq_no: int, tbc: bool, monitors: list[tuple[int, str, float]]) -> dict[str, Any]:
    return {
        "requestId": request_id,
        "seqNo": seq_no,
        "generatedAt": AT,
        "tbc": tbc,
        "monitor": [
            {
                **TEMPERATURE,
                "variableMonitoring": [{"id": mid, "transaction": False, "value": value, "type": kind, "severity": 3}],
            }
            for mid, kind, value in monitors
        ],
    }


def test_TC_N_47_CSMS_a_full_report_in_parts_replaces_the_monitors_we_knew(station: ChargePoint) -> None:
    call(
        station,
        "SetVariableMonitoring",
        {"setMonitoringData": [monitor_data()]},
        {"setMonitoringResult": [monitor_result(7)]},
    )
    VariableMonitor.objects.create(
        charge_point=station, monitor_id=99, component="EVSE", variable="Power", type="Delta", value=1, severity=5,
        source="station", updated_at="2026-11-30T10:00:00Z",
    )  # fmt: skip
    command = call(station, "GetMonitoringReport", {"requestId": 12}, {"status": "Accepted"})
    assert command.status == "accepted"
    cid = station.charge_point_id
    assert (
        handle("NotifyMonitoringReport", report_part(12, 0, True, [(1, "UpperThreshold", 80)]), "r0", cid).payload == {}
    )
    # A part in between is missing: the report is not complete yet, nothing is forgotten.
    handle("NotifyMonitoringReport", report_part(12, 2, False, [(7, "UpperThreshold", 60)]), "r2", cid)
    assert VariableMonitor.objects.filter(charge_point=station, monitor_id=99).exists()
    handle("NotifyMonitoringReport", report_part(12, 1, True, [(2, "Periodic", 300)]), "r1", cid)
    monitors = {m.monitor_id: m for m in VariableMonitor.objects.filter(charge_point=station)}
    assert sorted(monitors) == [1, 2, 7]  # 99 was not reported: gone
    assert (monitors[1].source, monitors[1].value) == ("station", 80)
    assert monitors[7].source == "csms"  # ours, listed back
    assert MonitoringReportPart.objects.filter(charge_point=station, request_id=12).count() == 3
    # Recorded as the core recorded it too.
    assert ChargerEvent.objects.filter(charge_point=station, status="NotifyMonitoringReport").count() == 3


def test_TC_N_01_CSMS_a_report_by_criteria_adds_and_forgets_nothing(station: ChargePoint) -> None:
    VariableMonitor.objects.create(
        charge_point=station, monitor_id=99, component="EVSE", variable="Power", type="Delta", value=1, severity=5,
        source="station", updated_at="2026-11-30T10:00:00Z",
    )  # fmt: skip
    call(
        station,
        "GetMonitoringReport",
        {"requestId": 13, "monitoringCriteria": ["ThresholdMonitoring"]},
        {"status": "Accepted"},
    )
    handle(
        "NotifyMonitoringReport", report_part(13, 0, False, [(1, "UpperThreshold", 80)]), "r0", station.charge_point_id
    )
    assert sorted(VariableMonitor.objects.filter(charge_point=station).values_list("monitor_id", flat=True)) == [1, 99]


# --- N07 / N08: NotifyEvent, faults --------------------------------------------------------------------


def event(
    event_id: int, *, cleared: bool = False, tech_code: str | None = None, at: str = AT, **extra: Any
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "eventId": event_id,
        "timestamp": at,
        "trigger": "Alerting",
        "actualValue": "false" if cleared else "true",
        "eventNotificationType": "HardWiredNotification",
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Problem"},
        **extra,
    }
    if cleared:
        item["cleared"] = True
    if tech_code is not None:
        item["techCode"] = tech_code
        item["techInfo"] = "RCD tripped at 31 mA"
    return item


def notify(station: ChargePoint, events: list[dict[str, Any]], message_id: str) -> dict[str, Any]:
    payload = {"generatedAt": AT, "seqNo": 0, "eventData": events}
    reply = handle("NotifyEvent", payload, message_id, station.charge_point_id)
    return dict(reply.payload)


def test_TC_N_21_CSMS_events_are_kept_and_an_mrec_code_is_a_fault_with_its_meaning(station: ChargePoint) -> None:
    assert notify(station, [event(1, tech_code="CX002"), event(2, tech_code="VENDOR-17")], "e1") == {}
    rows = ChargerEvent.objects.filter(charge_point=station, kind=ChargerEvent.Kind.NOTIFY_EVENT)
    assert sorted(row.detail["eventId"] for row in rows) == [1, 2]  # the core's rows, as before
    view = station_monitoring(charge_point=station)
    faults = {f.fault.tech_code: f for f in view.open_faults}
    assert faults["CX002"].mrec is not None and faults["CX002"].mrec.name == "GroundFailure"
    assert faults["VENDOR-17"].mrec is None  # not an MREC code: shown as reported
    assert faults["CX002"].variable == "EVSE@1.Problem"
    mrec_events = [e for e in view.events if e.tech_code == "CX002"]
    assert mrec_events and mrec_events[0].mrec is not None and "ground fault" in mrec_events[0].mrec.meaning


def test_TC_N_49_CSMS_a_cleared_event_ends_its_fault_by_event_id_or_by_variable(station: ChargePoint) -> None:
    notify(station, [event(1, tech_code="CX002")], "e1")
    notify(station, [event(5, tech_code="CX004", variable={"name": "OverCurrent"})], "e2")
    notify(station, [event(1, cleared=True, at="2026-11-23T10:05:00Z")], "e3")
    # A clearing under a new id: the open fault of the same variable and code ends.
    notify(station, [event(6, cleared=True, tech_code="CX004", variable={"name": "OverCurrent"})], "e4")
    faults = StationFault.objects.filter(charge_point=station).order_by("event_id")
    assert [(f.event_id, f.cleared_by_event_id) for f in faults] == [(1, 1), (5, 6)]
    assert all(f.cleared_at is not None for f in faults)
    assert station_monitoring(charge_point=station).open_faults == []


def test_an_event_without_problem_is_history_not_a_fault(station: ChargePoint) -> None:
    notify(station, [event(3, trigger="Delta", actualValue="Available", variable={"name": "AvailabilityState"})], "e1")
    assert not StationFault.objects.filter(charge_point=station).exists()
    assert [e.variable for e in station_monitoring(charge_point=station).events] == ["EVSE@1.AvailabilityState"]


def test_a_bad_event_timestamp_is_a_call_error_and_nothing_is_stored(station: ChargePoint) -> None:
    payload = {"generatedAt": AT, "seqNo": 0, "eventData": [event(1, tech_code="CX002", at="yesterday")]}
    reply = handle("NotifyEvent", payload, "bad", station.charge_point_id)
    assert (reply.kind, reply.error_code) == (Kind.ERROR, "PropertyConstraintViolation")
    assert not StationFault.objects.filter(charge_point=station).exists()


def test_TC_N_02_CSMS_an_open_request_id_is_not_asked_twice(station: ChargePoint) -> None:
    wanted = {"requestId": 21, "componentVariable": [{"component": {"name": "EVSE", "evse": {"id": 1}}}]}
    command_enqueue(charge_point=station, action="GetMonitoringReport", payload=wanted)
    assert "requestId" in refused(station, "GetMonitoringReport", {"requestId": 21}).errors
    command_enqueue(charge_point=station, action="GetMonitoringReport", payload={"requestId": 22})


def test_TC_N_50_CSMS_a_periodic_event_of_a_monitor_names_it_in_the_history(station: ChargePoint) -> None:
    periodic = event(4, trigger="Periodic", variableMonitoringId=7, eventNotificationType="CustomMonitor")
    periodic.update(variable={"name": "Temperature"}, actualValue="41.5")
    assert notify(station, [periodic], "e1") == {}
    [history] = station_monitoring(charge_point=station).events
    assert (history.monitor_id, history.trigger, history.actual_value) == (7, "Periodic", "41.5")
    assert not StationFault.objects.filter(charge_point=station).exists()
