"""The 2.0.1 command catalogue (protocols.v201.commands): every CSMS action checked against its schema
and the station's state, and GetVariables / SetVariables split by the station's ItemsPerMessage."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from certificates.tests.helpers import root_pem
from chargers import ports
from chargers.commands import CommandError, command_enqueue, command_next_send, commands_enqueue
from chargers.device_model import VariableAttribute, VariableKey, VariableReport, device_variables_report
from chargers.models import ChargePoint, Command, IdTokenType, Reservation
from protocols.v201 import commands, enums
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOKEN = {"idToken": "TOKEN-1", "type": "ISO14443"}
PROFILE = {
    "id": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": [
        {
            "id": 1,
            "chargingRateUnit": "A",
            "startSchedule": "2026-11-23T10:00:00Z",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
        }
    ],
}
HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "a1", "issuerKeyHash": "b2", "serialNumber": "c3"}
# A real certificate: certificate commands are refused with PEM that is no certificate (certificates_pem_check).
ROOT = root_pem()
FIRMWARE = {"location": "https://fw.example.com/1.bin", "retrieveDateTime": "2026-11-23T10:00:00Z"}

#: A schema-valid request of every 2.0.1 command.
VALID: dict[str, dict[str, Any]] = {
    "CancelReservation": {"reservationId": 1},
    "CertificateSigned": {"certificateChain": ROOT},
    "ChangeAvailability": {"operationalStatus": "Inoperative", "evse": {"id": 1}},
    "ClearCache": {},
    "ClearChargingProfile": {"chargingProfileId": 1},
    "ClearDisplayMessage": {"id": 1},
    "ClearVariableMonitoring": {"id": [1, 2]},
    "CostUpdated": {"totalCost": 1.5, "transactionId": "tx-1"},
    "CustomerInformation": {"requestId": 1, "report": True, "clear": False, "idToken": TOKEN},
    "DataTransfer": {"vendorId": "com.example", "messageId": "hello", "data": {"a": 1}},
    "DeleteCertificate": {"certificateHashData": HASH},
    "GetBaseReport": {"requestId": 1, "reportBase": "FullInventory"},
    "GetChargingProfiles": {"requestId": 1, "chargingProfile": {"chargingProfilePurpose": "TxProfile"}},
    "GetCompositeSchedule": {"duration": 3600, "evseId": 1, "chargingRateUnit": "W"},
    "GetDisplayMessages": {"requestId": 1},
    "GetInstalledCertificateIds": {"certificateType": ["CSMSRootCertificate"]},
    "GetLocalListVersion": {},
    "GetLog": {"logType": "DiagnosticsLog", "requestId": 1, "log": {"remoteLocation": "https://logs.example.com/"}},
    "GetMonitoringReport": {"requestId": 1, "monitoringCriteria": ["ThresholdMonitoring"]},
    "GetReport": {"requestId": 1, "componentCriteria": ["Active"]},
    "GetTransactionStatus": {"transactionId": "tx-1"},
    "GetVariables": {
        "getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]
    },
    "InstallCertificate": {"certificateType": "CSMSRootCertificate", "certificate": ROOT},
    "PublishFirmware": {"location": "https://fw.example.com/1.bin", "checksum": "0123456789abcdef", "requestId": 1},
    "RequestStartTransaction": {"idToken": TOKEN, "remoteStartId": 7, "evseId": 1},
    "RequestStopTransaction": {"transactionId": "tx-1"},
    "ReserveNow": {"id": 1, "expiryDateTime": "2030-01-01T00:00:00Z", "idToken": TOKEN, "evseId": 1},
    "Reset": {"type": "OnIdle", "evseId": 1},
    "SendLocalList": {
        "versionNumber": 3,
        "updateType": "Full",
        "localAuthorizationList": [{"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}}],
    },
    "SetChargingProfile": {"evseId": 0, "chargingProfile": PROFILE},
    "SetDisplayMessage": {
        "message": {"id": 1, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Welcome"}}
    },
    "SetMonitoringBase": {"monitoringBase": "All"},
    "SetMonitoringLevel": {"severity": 5},
    "SetNetworkProfile": {
        "configurationSlot": 1,
        "connectionData": {
            "ocppVersion": "OCPP20",
            "ocppTransport": "JSON",
            "ocppCsmsUrl": "wss://csms.example.com/ocpp",
            "messageTimeout": 30,
            "securityProfile": 2,
            "ocppInterface": "Wired0",
        },
    },
    "SetVariableMonitoring": {
        "setMonitoringData": [
            {
                "value": 10.0,
                "type": "Delta",
                "severity": 5,
                "component": {"name": "EVSE", "evse": {"id": 1}},
                "variable": {"name": "Power"},
            }
        ]
    },
    "SetVariables": {
        "setVariableData": [
            {"attributeValue": "60", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
        ]
    },
    "TriggerMessage": {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}},
    "UnlockConnector": {"evseId": 1, "connectorId": 1},
    "UnpublishFirmware": {"checksum": "0123456789abcdef"},
    "UpdateFirmware": {"requestId": 1, "firmware": FIRMWARE},
}


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def session(charge_point: ChargePoint, charger_transaction_id: str = "tx-1", **fields: Any) -> Transaction:
    return Transaction.objects.create(
        charge_point=charge_point,
        charger_transaction_id=charger_transaction_id,
        evse_id=1,
        connector_id=1,
        id_tag="TOKEN-1",
        id_tag_status="Accepted",
        started_at=NOW,
        start_received_at=NOW,
        **fields,
    )


def check(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    commands.command_check(charge_point=charge_point, action=action, payload=payload)


def refused(charge_point: ChargePoint, action: str, payload: Any) -> CommandError:
    with pytest.raises(CommandError) as caught:
        check(charge_point, action, payload)
    return caught.value


def test_the_catalogue_is_every_csms_initiated_2_0_1_action() -> None:
    assert set(VALID) == commands.COMMANDS == ports.port_for("2.0.1").commands
    assert len(commands.COMMANDS) == 40
    assert not commands.COMMANDS & {"BootNotification", "TransactionEvent", "NotifyReport", "Authorize"}


def test_the_enumerations_are_the_2_0_1_schemas_own() -> None:
    assert enums.TRIGGER_MESSAGES == (
        "BootNotification",
        "LogStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "SignChargingStationCertificate",
        "SignV2GCertificate",
        "StatusNotification",
        "TransactionEvent",
        "SignCombinedCertificate",
        "PublishFirmwareStatusNotification",
    )
    assert ports.port_for("2.0.1").trigger_messages == enums.TRIGGER_MESSAGES
    assert (enums.RESET_TYPES, enums.AVAILABILITY_TYPES) == (("Immediate", "OnIdle"), ("Inoperative", "Operative"))
    assert enums.UPDATE_TYPES == ("Differential", "Full") and "FullInventory" in enums.REPORT_BASES
    assert enums.ATTRIBUTE_TYPES == ("Actual", "Target", "MinSet", "MaxSet")
    assert set(enums.ID_TOKEN_TYPES) == set(IdTokenType.values)
    assert set(enums.CONNECTOR_STATUSES) == {"Available", "Occupied", "Reserved", "Unavailable", "Faulted"}


@pytest.mark.parametrize("action", sorted(VALID))
def test_every_2_0_1_command_with_a_schema_valid_payload_is_accepted(station: ChargePoint, action: str) -> None:
    session(station)  # RequestStopTransaction needs its session active
    reservation(station)  # CancelReservation needs its reservation open
    check(station, action, copy.deepcopy(VALID[action]))


def reservation(charge_point: ChargePoint) -> Reservation:
    return Reservation.objects.create(
        charge_point=charge_point, reservation_id=1, connector_id=0, evse_id=1, id_tag="TOKEN-1", expiry_date=NOW
    )


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("Reset", {"type": "Hard"}, "type"),
        ("Reset", {}, "type"),
        ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {}}, "evse.id"),
        ("GetVariables", {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}}]}, "getVariableData.0.variable"),
        ("GetVariables", {"getVariableData": []}, "getVariableData"),
        ("RequestStartTransaction", {"idToken": TOKEN}, "remoteStartId"),
        ("TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"}, "requestedMessage"),
        ("SendLocalList", {"versionNumber": 1, "updateType": "Full", "extra": 1}, "(payload)"),
        # Integers past the columns the answer lands in (an EVSE row cannot be numbered -1).
        ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": -1}}, "evse.id"),
        ("SendLocalList", {"versionNumber": 2**31, "updateType": "Full"}, "versionNumber"),
    ],
)
def test_a_schema_invalid_payload_is_refused_naming_the_field(
    station: ChargePoint, action: str, payload: dict[str, Any], field: str
) -> None:
    error = refused(station, action, payload)
    assert field in error.errors, error.errors
    assert action in error.message


@pytest.mark.parametrize("action", ["RemoteStartTransaction", "BootNotification", "TransactionEvent", "Nope"])
def test_an_action_that_is_no_2_0_1_command_is_refused(station: ChargePoint, action: str) -> None:
    error = refused(station, action, {})
    assert "action" in error.errors and "2.0.1" in error.message


def test_a_payload_that_is_no_object_is_refused(station: ChargePoint) -> None:
    assert "payload" in refused(station, "ClearCache", ["x"]).errors


def test_request_stop_needs_an_active_2_0_1_session_of_this_station(station: ChargePoint) -> None:
    other = ChargePoint.objects.create(charge_point_id="CS-2", ocpp_version="2.0.1")
    session(other, "theirs")
    session(station, "ended", stopped_at=NOW)
    session(station, "")  # a 1.6 session of the same charger (before it spoke 2.0.1): no charger id
    for transaction_id in ("unknown", "theirs", "ended", ""):
        error = refused(station, "RequestStopTransaction", {"transactionId": transaction_id})
        assert "transactionId" in error.errors, transaction_id
    session(station, "live")
    check(station, "RequestStopTransaction", {"transactionId": "live"})


def test_an_evse_the_station_never_reported_is_not_refused(station: ChargePoint) -> None:
    # The station may not have reported its EVSEs yet; it answers an EVSE it lacks itself.
    check(station, "UnlockConnector", {"evseId": 9, "connectorId": 1})
    check(station, "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 9}})
    check(station, "RequestStartTransaction", {"idToken": TOKEN, "remoteStartId": 1, "evseId": 9})


def test_a_reset_of_the_station_or_of_an_evse_immediate_or_on_idle(station: ChargePoint) -> None:
    for payload in (
        {"type": "Immediate"},
        {"type": "OnIdle"},
        {"type": "Immediate", "evseId": 1},
        {"type": "OnIdle", "evseId": 2},
    ):
        check(station, "Reset", payload)


def test_a_remote_start_id_is_unique_among_the_stations_open_remote_starts(station: ChargePoint) -> None:
    start = {"idToken": TOKEN, "remoteStartId": 42}
    first = command_enqueue(charge_point=station, action="RequestStartTransaction", payload=start)
    error = refused(station, "RequestStartTransaction", start)
    assert "remoteStartId" in error.errors
    command_next_send(charge_point_pk=station.pk)  # sent: still open
    assert "remoteStartId" in refused(station, "RequestStartTransaction", start).errors
    other = ChargePoint.objects.create(charge_point_id="CS-2", ocpp_version="2.0.1", registration_status="Accepted")
    check(other, "RequestStartTransaction", start)  # another station's ids are its own
    Command.objects.filter(pk=first.pk).update(status=Command.Status.ACCEPTED)
    check(station, "RequestStartTransaction", start)  # answered: no longer open


def test_TC_D_01_CSMS_a_full_local_list_has_a_version_above_0_unique_tokens_each_with_its_info(
    station: ChargePoint,
) -> None:
    entry = {"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}}
    assert "versionNumber" in refused(station, "SendLocalList", {"versionNumber": 0, "updateType": "Full"}).errors
    twice = {"versionNumber": 2, "updateType": "Full", "localAuthorizationList": [entry, entry]}
    assert "localAuthorizationList.1.idToken" in refused(station, "SendLocalList", twice).errors
    # Tokens match whatever their case: the same token in another case is in the list twice too.
    other_case = {**entry, "idToken": {**TOKEN, "idToken": TOKEN["idToken"].lower()}}
    cased = {"versionNumber": 2, "updateType": "Full", "localAuthorizationList": [entry, other_case]}
    assert "localAuthorizationList.1.idToken" in refused(station, "SendLocalList", cased).errors
    bare = {"versionNumber": 2, "updateType": "Full", "localAuthorizationList": [{"idToken": TOKEN}]}
    assert "localAuthorizationList.0.idTokenInfo" in refused(station, "SendLocalList", bare).errors
    same_value_other_type = {
        "idToken": {"idToken": "TOKEN-1", "type": "Central"},
        "idTokenInfo": {"status": "Accepted"},
    }
    check(
        station,
        "SendLocalList",
        {"versionNumber": 2, "updateType": "Full", "localAuthorizationList": [entry, same_value_other_type]},
    )


def test_TC_D_03_CSMS_TC_D_04_CSMS_a_differential_removal_and_an_empty_full_list(station: ChargePoint) -> None:
    check(
        station,
        "SendLocalList",
        {"versionNumber": 4, "updateType": "Differential", "localAuthorizationList": [{"idToken": TOKEN}]},
    )
    # An empty list is spelled without the list: the schema wants at least one entry in an array.
    check(station, "SendLocalList", {"versionNumber": 5, "updateType": "Full"})
    empty = {"versionNumber": 6, "updateType": "Full", "localAuthorizationList": []}
    assert "localAuthorizationList" in refused(station, "SendLocalList", empty).errors


# --- GetVariables / SetVariables split by ItemsPerMessage --------------------------------------------


def items_per_message(charge_point: ChargePoint, instance: str, value: str) -> None:
    """The station reported DeviceDataCtrlr.ItemsPerMessage[instance] (as a NotifyReport stores it)."""
    key = VariableKey(component="DeviceDataCtrlr", variable="ItemsPerMessage", variable_instance=instance)
    device_variables_report(
        charge_point=charge_point,
        items=[VariableReport(key, (VariableAttribute(value=value, mutability="ReadOnly"),))],
        now=NOW,
    )


def get_data(count: int) -> list[dict[str, Any]]:
    return [{"component": {"name": "Comp"}, "variable": {"name": f"Var{index}"}} for index in range(count)]


def set_data(count: int) -> list[dict[str, Any]]:
    return [{"attributeValue": str(index), **item} for index, item in enumerate(get_data(count))]


def split(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    return commands.command_split(charge_point=charge_point, action=action, payload=payload)


def test_TC_B_08_CSMS_get_variables_are_cut_by_items_per_message_get_variables(station: ChargePoint) -> None:
    items_per_message(station, "GetVariables", "4")
    items = get_data(10)
    parts = split(station, "GetVariables", {"getVariableData": items})
    assert [len(part["getVariableData"]) for part in parts] == [4, 4, 2]
    assert [item for part in parts for item in part["getVariableData"]] == items  # in order


def test_set_variables_are_cut_by_items_per_message_set_variables(station: ChargePoint) -> None:
    items_per_message(station, "GetVariables", "1")  # another instance: not SetVariables' limit
    items_per_message(station, "SetVariables", "2")
    parts = split(station, "SetVariables", {"setVariableData": set_data(5)})
    assert [len(part["setVariableData"]) for part in parts] == [2, 2, 1]
    assert [item for part in parts for item in part["setVariableData"]] == set_data(5)
    assert len(split(station, "GetVariables", {"getVariableData": get_data(3)})) == 3


@pytest.mark.parametrize("reported", [None, "0", "-3", "many", ""])
def test_without_a_usable_limit_the_command_goes_whole(station: ChargePoint, reported: str | None) -> None:
    if reported is not None:
        items_per_message(station, "GetVariables", reported)
    payload = {"getVariableData": get_data(10)}
    assert split(station, "GetVariables", payload) == [payload]


def test_a_request_within_the_limit_goes_whole_and_other_actions_never_split(station: ChargePoint) -> None:
    items_per_message(station, "GetVariables", "4")
    payload = {"getVariableData": get_data(4)}
    assert split(station, "GetVariables", payload) == [payload]
    monitoring = {"setMonitoringData": [dict(VALID["SetVariableMonitoring"]["setMonitoringData"][0])] * 6}
    assert split(station, "SetVariableMonitoring", monitoring) == [monitoring]


def test_another_stations_limit_is_not_this_ones(station: ChargePoint) -> None:
    other = ChargePoint.objects.create(charge_point_id="CS-2", ocpp_version="2.0.1")
    items_per_message(other, "GetVariables", "1")
    assert len(split(station, "GetVariables", {"getVariableData": get_data(3)})) == 1


def test_TC_B_08_CSMS_get_variables_are_queued_as_several_commands(station: ChargePoint) -> None:
    items_per_message(station, "GetVariables", "4")
    items = get_data(10)
    queued = commands_enqueue(
        charge_point=station, action="GetVariables", payload={"getVariableData": items}, requested_by="op"
    )
    assert [len(command.request["getVariableData"]) for command in queued] == [4, 4, 2]
    assert [item for command in queued for item in command.request["getVariableData"]] == items
    assert {(command.action, command.status, command.requested_by) for command in queued} == {
        ("GetVariables", "queued", "op")
    }
    assert len({command.message_id for command in queued}) == 3
    # They go out one after the other, in the order asked.
    first = command_next_send(charge_point_pk=station.pk)
    assert first is not None and first.pk == queued[0].pk
    Command.objects.filter(pk=first.pk).update(status=Command.Status.ACCEPTED)
    second = command_next_send(charge_point_pk=station.pk)
    assert second is not None and second.pk == queued[1].pk


def test_command_enqueue_returns_the_first_part_and_queues_the_others(station: ChargePoint) -> None:
    items_per_message(station, "SetVariables", "4")
    first = command_enqueue(charge_point=station, action="SetVariables", payload={"setVariableData": set_data(5)})
    assert first.request["setVariableData"] == set_data(5)[:4]
    rest = Command.objects.filter(charge_point=station).exclude(pk=first.pk)
    assert [command.request["setVariableData"] for command in rest] == [set_data(5)[4:]]


def test_a_command_within_the_limit_is_one_command(station: ChargePoint) -> None:
    items_per_message(station, "GetVariables", "4")
    queued = commands_enqueue(charge_point=station, action="GetVariables", payload={"getVariableData": get_data(4)})
    assert len(queued) == 1 and queued[0].request == {"getVariableData": get_data(4)}


def test_a_split_request_is_checked_whole_before_anything_is_queued(station: ChargePoint) -> None:
    items_per_message(station, "GetVariables", "2")
    items = [*get_data(3), {"component": {"name": "Comp"}}]
    with pytest.raises(CommandError) as caught:
        commands_enqueue(charge_point=station, action="GetVariables", payload={"getVariableData": items})
    assert "getVariableData.3.variable" in caught.value.errors
    assert not Command.objects.exists()


def test_a_1_6_command_is_never_split() -> None:
    charger = ChargePoint.objects.create(charge_point_id="CP-16", registration_status="Accepted")
    assert ports.port_of(charger).command_split(
        charge_point=charger, action="GetConfiguration", payload={"key": ["a"] * 50}
    ) == [{"key": ["a"] * 50}]
    queued = commands_enqueue(charge_point=charger, action="GetConfiguration", payload={"key": ["a", "b", "c"]})
    assert len(queued) == 1 and queued[0].request == {"key": ["a", "b", "c"]}
