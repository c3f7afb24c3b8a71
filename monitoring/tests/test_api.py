"""The monitoring API (monitors listed, set and cleared through commands; faults) and the charger page's
monitoring panel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint, Command
from monitoring.models import StationFault, VariableMonitor
from protocols.v201.tests.calls import AT, handle

from .conftest import NOW, call, reported

pytestmark = pytest.mark.django_db

SET = {
    "component": "EVSE",
    "evse_id": 1,
    "variable": "Temperature",
    "type": "UpperThreshold",
    "value": 60,
    "severity": 2,
}
URL = "/api/v1/chargers/CS-MON/monitors/"


def test_TC_N_08_CSMS_set_a_monitor_from_the_api_builds_the_command(
    station: ChargePoint, api_client: ApiClientFactory
) -> None:
    response = api_client("operator").post(URL, {**SET, "transaction": True}, format="json")
    assert response.status_code == 202, response.content
    command = Command.objects.get(pk=response.json()["id"])
    assert (command.action, command.request) == (
        "SetVariableMonitoring",
        {
            "setMonitoringData": [
                {
                    "value": 60.0,
                    "type": "UpperThreshold",
                    "severity": 2,
                    "transaction": True,
                    "component": {"name": "EVSE", "evse": {"id": 1}},
                    "variable": {"name": "Temperature"},
                }
            ]
        },
    )


def test_a_monitor_the_station_cannot_take_is_a_400_with_the_reason(
    station: ChargePoint, api_client: ApiClientFactory
) -> None:
    client = api_client("operator")
    assert client.post(URL, {**SET, "severity": 12}, format="json").status_code == 400
    reported(station, "EVSE", "Temperature", "25", evse_id=1, data_type="decimal", supports_monitoring=False)
    response = client.post(URL, SET, format="json")
    assert response.status_code == 400
    assert "does not support monitoring" in response.json()["non_field_errors"][0]
    assert not Command.objects.filter(charge_point=station).exists()
    # A 1.6 charger has no monitoring: refused by its version.
    ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted")
    assert client.post("/api/v1/chargers/CP-16/monitors/", SET, format="json").status_code == 400


def test_list_and_clear_monitors(station: ChargePoint, api_client: ApiClientFactory) -> None:
    where = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Temperature"}}
    call(
        station,
        "SetVariableMonitoring",
        {"setMonitoringData": [{"value": 60, "type": "UpperThreshold", "severity": 2, **where}]},
        {"setMonitoringResult": [{"id": 7, "status": "Accepted", "type": "UpperThreshold", "severity": 2, **where}]},
    )
    listed = api_client("viewer").get(URL).json()
    assert [(m["monitor_id"], m["variable"], m["value"], m["source"]) for m in listed] == [
        (7, "Temperature", 60.0, "csms")
    ]
    assert api_client("viewer").delete(f"{URL}7/").status_code == 403
    response = api_client("operator").delete(f"{URL}7/")
    assert response.status_code == 202
    command = Command.objects.get(pk=response.json()["id"])
    assert (command.action, command.request) == ("ClearVariableMonitoring", {"id": [7]})
    assert api_client("operator").get("/api/v1/chargers/NOPE/monitors/").status_code == 404


def test_TC_B_09_CSMS_set_variables_of_a_read_only_variable_is_a_400_naming_it(
    station: ChargePoint, api_client: ApiClientFactory
) -> None:
    reported(station, "SecurityCtrlr", "Identity", "CS-MON", mutability="ReadOnly")
    payload = {
        "setVariableData": [
            {"attributeValue": "X", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}}
        ]
    }
    response = api_client("operator").post(
        "/api/v1/commands/", {"charge_point_id": "CS-MON", "action": "SetVariables", "payload": payload}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "SecurityCtrlr.Identity is ReadOnly" in body["non_field_errors"][0]
    assert "setVariableData.0" in body


def test_faults_with_their_mrec_meaning(station: ChargePoint, api_client: ApiClientFactory) -> None:
    event = {
        "eventId": 1, "timestamp": AT, "trigger": "Alerting", "actualValue": "true", "techCode": "CX008",
        "techInfo": "button 2", "eventNotificationType": "HardWiredNotification",
        "component": {"name": "ChargingStation"}, "variable": {"name": "Problem"},
    }  # fmt: skip
    handle("NotifyEvent", {"generatedAt": AT, "seqNo": 0, "eventData": [event]}, "e1", station.charge_point_id)
    faults = api_client("viewer").get("/api/v1/chargers/CS-MON/faults/?open=true").json()["results"]
    assert [(f["tech_code"], f["name"], f["tech_info"], f["cleared_at"]) for f in faults] == [
        ("CX008", "EmergencyStop", "button 2", None)
    ]
    assert "emergency stop" in faults[0]["meaning"]


def test_the_charger_page_shows_faults_monitors_and_reboot_required(station: ChargePoint) -> None:
    user = User.objects.create_user(username="op", password="op-password-1")
    client = Client()
    client.force_login(user)
    StationFault.objects.create(
        charge_point=station, event_id=1, component="EVSE", evse_id=1, variable="Problem", tech_code="CX002",
        tech_info="31 mA", raised_at=NOW,
    )  # fmt: skip
    StationFault.objects.create(
        charge_point=station, event_id=2, component="EVSE", evse_id=1, variable="Problem", tech_code="ACME-9",
        raised_at=NOW + timedelta(seconds=1),
    )  # fmt: skip
    VariableMonitor.objects.create(
        charge_point=station, monitor_id=7, component="EVSE", evse_id=1, variable="Temperature",
        type="UpperThreshold", value=60, severity=2, source="csms", updated_at=NOW,
    )  # fmt: skip
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    call(
        station,
        "SetVariables",
        {"setVariableData": [{"attributeValue": "120", **heartbeat}]},
        {"setVariableResult": [{"attributeStatus": "RebootRequired", **heartbeat}]},
    )
    html = client.get("/chargers/CS-MON/").content.decode()
    assert 'id="charger-monitoring"' in html
    assert "GroundFailure: The ground fault" in html
    assert "ACME-9 (not an MREC code)" in html and "OtherError" not in html
    assert 'data-monitor="7"' in html
    assert "OCPPCommCtrlr.HeartbeatInterval" in html and "RebootRequired" in html
    # A 1.6 charger's page has no monitoring panel.
    ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted")
    assert 'id="charger-monitoring"' not in client.get("/chargers/CP-16/").content.decode()


def test_TC_N_16_CSMS_the_monitoring_summary_has_level_base_and_reboot_required(
    station: ChargePoint, api_client: ApiClientFactory
) -> None:
    client = api_client("viewer")
    url = "/api/v1/chargers/CS-MON/monitoring/"
    empty = client.get(url).json()
    assert empty == {
        "monitoring_base": None,
        "monitoring_level": None,
        "open_faults": 0,
        "monitors": 0,
        "reboot_pending": [],
    }
    call(station, "SetMonitoringLevel", {"severity": 5}, {"status": "Accepted"})
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    command = call(
        station,
        "SetVariables",
        {"setVariableData": [{"attributeValue": "120", **heartbeat}]},
        {"setVariableResult": [{"attributeStatus": "RebootRequired", **heartbeat}]},
    )
    body = client.get(url).json()
    assert body["monitoring_level"] == 5
    assert [(r["variable"], r["value"], r["command_id"]) for r in body["reboot_pending"]] == [
        ("OCPPCommCtrlr.HeartbeatInterval", "120", command.pk)
    ]
