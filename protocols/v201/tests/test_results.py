"""What answered 2.0.1 commands change (protocols.v201.results), driven as the bridge drives them: commands
queued with command_enqueue, marked sent, answered by 2.0.1 CallResult frames through results_handle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chargers.commands import command_enqueue, command_next_send, commands_enqueue
from chargers.device_model import device_variable_value
from chargers.models import ChargePoint, Command, DeviceVariable, Evse
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import results_handle
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TOKEN = {"idToken": "TOKEN-1", "type": "ISO14443"}
HEARTBEAT = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def sent(charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> Command:
    """Queue a command as every caller does and mark it sent as the dispatcher does."""
    command = command_enqueue(charge_point=charge_point, action=action, payload=payload)
    out = command_next_send(charge_point_pk=charge_point.pk)
    assert out is not None and out.pk == command.pk
    command.refresh_from_db()
    return command


def answer(command: Command, payload: dict[str, Any], *, version: str = "2.0.1") -> Command:
    """The station's CallResult, as the bridge hands it to the processing; the command as it ends."""
    results_handle(
        [
            Frame(
                charge_point_id=command.charge_point.charge_point_id,
                kind=Kind.RESULT,
                message_id=command.message_id,
                payload=payload,
                ocpp_version=version,
                received_at=utcnow(),
            )
        ]
    )
    command.refresh_from_db()
    return command


def call(charge_point: ChargePoint, action: str, payload: dict[str, Any], result: dict[str, Any]) -> Command:
    return answer(sent(charge_point, action, payload), result)


def value(charge_point: ChargePoint, variable: str, component: str = "OCPPCommCtrlr", **key: Any) -> str | None:
    return device_variable_value(charge_point=charge_point, component=component, variable=variable, **key)


# --- B: provisioning -----------------------------------------------------------------------------


def test_TC_B_06_CSMS_get_variables_single_value_is_stored_and_the_command_accepted(station: ChargePoint) -> None:
    result = {"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "300", **HEARTBEAT}]}
    command = call(station, "GetVariables", {"getVariableData": [HEARTBEAT]}, result)
    # GetVariablesResponse has no status of its own: answered is accepted, not rejected.
    assert (command.status, command.response) == ("accepted", result)
    assert value(station, "HeartbeatInterval") == "300"


def test_TC_B_07_CSMS_get_variables_multiple_values_only_accepted_ones_are_stored(station: ChargePoint) -> None:
    connector = {"name": "Connector", "evse": {"id": 1, "connectorId": 2}}
    asked: list[dict[str, Any]] = [
        HEARTBEAT,
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeType": "Target"},
        {"component": connector, "variable": {"name": "ConnectorType"}},
        {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxEndedMeasurands"}},
        {"component": {"name": "Nope"}, "variable": {"name": "Nothing"}},
    ]
    result = {
        "getVariableResult": [
            {"attributeStatus": "Accepted", "attributeValue": "300", **HEARTBEAT},
            {"attributeStatus": "Accepted", "attributeType": "Target", "attributeValue": "600", **HEARTBEAT},
            {
                "attributeStatus": "Accepted",
                "attributeValue": "cType2",
                "component": connector,
                "variable": {"name": "ConnectorType"},
            },
            {"attributeStatus": "Rejected", **asked[3]},
            {"attributeStatus": "UnknownComponent", **asked[4]},
        ]
    }
    command = call(station, "GetVariables", {"getVariableData": asked}, result)
    assert command.status == "accepted"
    assert value(station, "HeartbeatInterval") == "300"
    assert value(station, "HeartbeatInterval", attribute_type="Target") == "600"
    assert value(station, "ConnectorType", component="Connector", evse_id=1, connector_id=2) == "cType2"
    assert not DeviceVariable.objects.filter(variable__in=["TxEndedMeasurands", "Nothing"]).exists()
    assert DeviceVariable.objects.filter(charge_point=station).count() == 3


def test_TC_B_08_CSMS_a_limit_learnt_from_get_variables_splits_the_next_get_variables(station: ChargePoint) -> None:
    # Configuration state: the CSMS reads DeviceDataCtrlr.ItemsPerMessage[GetVariables] = 4.
    limit = {
        "component": {"name": "DeviceDataCtrlr"},
        "variable": {"name": "ItemsPerMessage", "instance": "GetVariables"},
    }
    call(
        station,
        "GetVariables",
        {"getVariableData": [limit]},
        {"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "4", **limit}]},
    )
    asked = [
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage", "instance": "GetReport"}},
        limit,
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "BytesPerMessage", "instance": "GetReport"}},
        {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "BytesPerMessage", "instance": "GetVariables"}},
        {"component": {"name": "AuthCtrlr"}, "variable": {"name": "AuthorizeRemoteStart"}},
    ]
    queued = commands_enqueue(charge_point=station, action="GetVariables", payload={"getVariableData": asked})
    assert [command.request["getVariableData"] for command in queued] == [asked[:4], asked[4:]]
    # Each part is answered on its own and stores its own values.
    for command, values in zip(queued, (["1", "4", "4096", "4096"], ["true"]), strict=True):
        out = command_next_send(charge_point_pk=station.pk)
        assert out is not None and out.pk == command.pk
        items = command.request["getVariableData"]
        answer(
            command,
            {
                "getVariableResult": [
                    {"attributeStatus": "Accepted", "attributeValue": v, **item}
                    for v, item in zip(values, items, strict=True)
                ]
            },
        )
        assert command.status == "accepted"
    assert value(station, "AuthorizeRemoteStart", component="AuthCtrlr") == "true"
    assert value(station, "BytesPerMessage", component="DeviceDataCtrlr", instance="GetVariables") == "4096"


def test_TC_B_09_CSMS_TC_B_10_CSMS_set_variables_store_what_the_station_took(station: ChargePoint) -> None:
    offline = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}
    unknown = {"component": {"name": "Nope"}, "variable": {"name": "Nothing"}}
    refused = {"component": {"name": "AuthCtrlr"}, "variable": {"name": "Enabled"}}
    call(
        station,
        "GetVariables",
        {"getVariableData": [refused]},
        {"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "true", **refused}]},
    )
    asked = [
        {"attributeValue": "60", **HEARTBEAT},
        {"attributeValue": "120", **offline},
        {"attributeValue": "x", **unknown},
        {"attributeValue": "false", **refused},
    ]
    result = {
        "setVariableResult": [
            # Names are case-insensitive: the station may echo them in its own spelling.
            {
                "attributeStatus": "Accepted",
                "component": {"name": "ocppcommctrlr"},
                "variable": {"name": "heartbeatinterval"},
            },
            {"attributeStatus": "RebootRequired", **offline},
            {"attributeStatus": "UnknownComponent", **unknown},
            {"attributeStatus": "Rejected", **refused},
        ]
    }
    command = call(station, "SetVariables", {"setVariableData": asked}, result)
    assert command.status == "accepted"
    assert value(station, "HeartbeatInterval") == "60"  # stored in the spelling we asked in
    assert value(station, "OfflineThreshold") == "120"  # RebootRequired: set, in effect after a reboot
    assert value(station, "Enabled", component="AuthCtrlr") == "true"  # refused: unchanged
    assert not DeviceVariable.objects.filter(variable="Nothing").exists()


def test_a_set_variables_value_keeps_the_characteristics_a_report_gave(station: ChargePoint) -> None:
    DeviceVariable.objects.create(
        charge_point=station,
        component="OCPPCommCtrlr",
        variable="HeartbeatInterval",
        value="300",
        mutability="ReadWrite",
        unit="s",
        data_type="integer",
        updated_at=NOW,
    )
    result = {"setVariableResult": [{"attributeStatus": "Accepted", **HEARTBEAT}]}
    call(station, "SetVariables", {"setVariableData": [{"attributeValue": "30", **HEARTBEAT}]}, result)
    row = DeviceVariable.objects.get(charge_point=station, variable="HeartbeatInterval")
    assert (row.value, row.unit, row.data_type, row.mutability) == ("30", "s", "integer", "ReadWrite")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("Accepted", "accepted"), ("Rejected", "rejected"), ("NotSupported", "rejected"), ("EmptyResultSet", "rejected")],
)
def test_TC_B_12_CSMS_TC_B_13_CSMS_get_base_report_answers(station: ChargePoint, status: str, outcome: str) -> None:
    command = call(station, "GetBaseReport", {"requestId": 5, "reportBase": "FullInventory"}, {"status": status})
    assert command.status == outcome
    assert not DeviceVariable.objects.exists()  # the values come in NotifyReport, not in this answer


@pytest.mark.parametrize(
    ("payload", "status", "outcome", "waits_for_boot"),
    [
        ({"type": "OnIdle"}, "Accepted", "accepted", True),  # TC_B_20_CSMS
        ({"type": "OnIdle"}, "Scheduled", "accepted", True),  # TC_B_21_CSMS: after the session ends
        ({"type": "Immediate"}, "Accepted", "accepted", True),  # TC_B_22_CSMS
        ({"type": "Immediate"}, "Rejected", "rejected", False),
        ({"type": "Immediate", "evseId": 1}, "Accepted", "accepted", False),  # TC_B_25_CSMS: no reboot
        ({"type": "OnIdle", "evseId": 1}, "Scheduled", "accepted", False),  # TC_B_26_CSMS
    ],
)
def test_TC_B_20_CSMS_to_TC_B_27_CSMS_reset_of_the_station_or_an_evse(
    station: ChargePoint, payload: dict[str, Any], status: str, outcome: str, waits_for_boot: bool
) -> None:
    command = call(station, "Reset", payload, {"status": status})
    assert command.status == outcome
    station.refresh_from_db()
    assert (station.reset_requested_at is not None) == waits_for_boot


# --- C, D: authorization cache and local list ---------------------------------------------------------


@pytest.mark.parametrize(("status", "outcome"), [("Accepted", "accepted"), ("Rejected", "rejected")])
def test_TC_C_37_CSMS_TC_C_38_CSMS_clear_cache(station: ChargePoint, status: str, outcome: str) -> None:
    command = call(station, "ClearCache", {}, {"status": status})
    assert (command.status, command.response) == (outcome, {"status": status})


@pytest.mark.parametrize(
    ("payload", "status", "version"),
    [
        (  # TC_D_01_CSMS
            {
                "versionNumber": 2,
                "updateType": "Full",
                "localAuthorizationList": [{"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}}],
            },
            "Accepted",
            2,
        ),
        (  # TC_D_02_CSMS
            {
                "versionNumber": 3,
                "updateType": "Differential",
                "localAuthorizationList": [{"idToken": TOKEN, "idTokenInfo": {"status": "Blocked"}}],
            },
            "Accepted",
            3,
        ),
        (
            {"versionNumber": 4, "updateType": "Differential", "localAuthorizationList": [{"idToken": TOKEN}]},
            "Accepted",
            4,
        ),
        ({"versionNumber": 5, "updateType": "Full"}, "Accepted", 5),  # TC_D_04_CSMS: empty full list
        ({"versionNumber": 6, "updateType": "Differential"}, "VersionMismatch", 1),
        ({"versionNumber": 7, "updateType": "Full"}, "Failed", 1),
    ],
)
def test_TC_D_01_CSMS_to_TC_D_04_CSMS_send_local_list_sets_the_version_it_was_accepted_with(
    station: ChargePoint, payload: dict[str, Any], status: str, version: int
) -> None:
    ChargePoint.objects.filter(pk=station.pk).update(local_list_version=1)
    command = call(station, "SendLocalList", payload, {"status": status})
    assert command.status == ("accepted" if status == "Accepted" else "rejected")
    station.refresh_from_db()
    assert station.local_list_version == version


@pytest.mark.parametrize("version", [7, 0])  # TC_D_08_CSMS, TC_D_09_CSMS (0: no list installed)
def test_TC_D_08_CSMS_TC_D_09_CSMS_get_local_list_version(station: ChargePoint, version: int) -> None:
    ChargePoint.objects.filter(pk=station.pk).update(local_list_version=3)
    command = call(station, "GetLocalListVersion", {}, {"versionNumber": version})
    assert command.status == "accepted"
    station.refresh_from_db()
    assert station.local_list_version == version


# --- E: transactions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "result"),
    [
        ({"transactionId": "tx-1"}, {"messagesInQueue": True, "ongoingIndicator": True}),  # TC_E_29_CSMS
        ({"transactionId": "tx-1"}, {"messagesInQueue": False, "ongoingIndicator": True}),  # TC_E_30_CSMS
        ({"transactionId": "tx-1"}, {"messagesInQueue": True, "ongoingIndicator": False}),  # TC_E_31_CSMS
        ({}, {"messagesInQueue": True}),  # TC_E_33_CSMS: without transactionId
        ({}, {"messagesInQueue": False}),  # TC_E_34_CSMS
    ],
)
def test_TC_E_29_CSMS_to_TC_E_34_CSMS_get_transaction_status_is_answered_and_kept(
    station: ChargePoint, payload: dict[str, Any], result: dict[str, Any]
) -> None:
    command = call(station, "GetTransactionStatus", payload, result)
    # No top-level status: an answer is "accepted", its facts are in the response.
    assert (command.status, command.response) == ("accepted", result)


# --- F: remote control ----------------------------------------------------------------------------


def session(charge_point: ChargePoint, charger_transaction_id: str) -> Transaction:
    return Transaction.objects.create(
        charge_point=charge_point,
        charger_transaction_id=charger_transaction_id,
        evse_id=1,
        connector_id=1,
        id_tag="TOKEN-1",
        id_tag_status="Accepted",
        started_at=NOW,
        start_received_at=NOW,
    )


def test_TC_F_01_CSMS_a_remote_start_answered_with_the_stations_session_is_linked_to_it(station: ChargePoint) -> None:
    # Cable plugged in first: the session exists, and the station names it in its answer.
    running = session(station, "tx-plugged")
    session(ChargePoint.objects.create(charge_point_id="CS-2", ocpp_version="2.0.1"), "tx-other")
    start = {"idToken": TOKEN, "remoteStartId": 11, "evseId": 1}
    command = call(station, "RequestStartTransaction", start, {"status": "Accepted", "transactionId": "tx-plugged"})
    assert (command.status, command.transaction_id) == ("accepted", running.pk)
    # Another station's session of the same id is not ours.
    start = {"idToken": TOKEN, "remoteStartId": 12}
    command = call(station, "RequestStartTransaction", start, {"status": "Accepted", "transactionId": "tx-other"})
    assert command.transaction_id is None


def test_TC_F_02_CSMS_a_remote_start_first_is_linked_later_by_its_remote_start_id(station: ChargePoint) -> None:
    # No session yet (and none named): nothing to link now; its TransactionEvent links it by remoteStartId.
    command = call(station, "RequestStartTransaction", {"idToken": TOKEN, "remoteStartId": 13}, {"status": "Accepted"})
    assert (command.status, command.transaction_id) == ("accepted", None)
    rejected = call(
        station,
        "RequestStartTransaction",
        {"idToken": TOKEN, "remoteStartId": 14},
        {"status": "Rejected", "transactionId": "tx-unknown"},
    )
    assert (rejected.status, rejected.transaction_id) == ("rejected", None)


@pytest.mark.parametrize(("status", "outcome"), [("Accepted", "accepted"), ("Rejected", "rejected")])
def test_TC_E_21_CSMS_request_stop_transaction_keeps_the_answer(
    station: ChargePoint, status: str, outcome: str
) -> None:
    session(station, "tx-1")
    command = call(station, "RequestStopTransaction", {"transactionId": "tx-1"}, {"status": status})
    assert (command.status, command.response) == (outcome, {"status": status})
    assert Transaction.objects.get(charger_transaction_id="tx-1").stopped_at is None  # its TransactionEvent ends it


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("Unlocked", "accepted"),  # TC_F_06_CSMS
        ("UnlockFailed", "rejected"),
        ("OngoingAuthorizedTransaction", "rejected"),
        ("UnknownConnector", "rejected"),
    ],
)
def test_TC_F_06_CSMS_unlock_connector(station: ChargePoint, status: str, outcome: str) -> None:
    command = call(station, "UnlockConnector", {"evseId": 1, "connectorId": 1}, {"status": status})
    assert (command.status, command.response) == (outcome, {"status": status})


@pytest.mark.parametrize(
    ("payload", "status", "outcome"),
    [
        ({"requestedMessage": "MeterValues", "evse": {"id": 1}}, "Accepted", "accepted"),  # TC_F_11_CSMS
        ({"requestedMessage": "MeterValues"}, "Accepted", "accepted"),  # TC_F_12_CSMS
        ({"requestedMessage": "TransactionEvent", "evse": {"id": 1}}, "Accepted", "accepted"),  # TC_F_13_CSMS
        ({"requestedMessage": "Heartbeat"}, "Accepted", "accepted"),  # TC_F_20_CSMS
        ({"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}, "Accepted", "accepted"),
        ({"requestedMessage": "SignV2GCertificate"}, "NotImplemented", "rejected"),  # TC_F_27_CSMS
        ({"requestedMessage": "Heartbeat"}, "Rejected", "rejected"),
    ],
)
def test_TC_F_11_CSMS_to_TC_F_27_CSMS_trigger_message(
    station: ChargePoint, payload: dict[str, Any], status: str, outcome: str
) -> None:
    command = call(station, "TriggerMessage", payload, {"status": status})
    assert (command.status, command.response) == (outcome, {"status": status})


def test_data_transfer_answer_is_kept(station: ChargePoint) -> None:
    result = {"status": "Accepted", "data": {"balance": 12}}
    command = call(station, "DataTransfer", {"vendorId": "com.example", "messageId": "balance"}, result)
    assert (command.status, command.response) == ("accepted", result)


# --- G: availability ------------------------------------------------------------------------------


def availability(charge_point: ChargePoint) -> dict[int, str]:
    return dict(Evse.objects.filter(charge_point=charge_point).values_list("evse_id", "availability"))


@pytest.fixture
def evses(station: ChargePoint) -> ChargePoint:
    for evse_id in (1, 2):
        Evse.objects.create(charge_point=station, evse_id=evse_id)
    return station


def test_TC_G_03_CSMS_TC_G_04_CSMS_change_availability_of_an_evse(evses: ChargePoint) -> None:
    command = call(
        evses, "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 2}}, {"status": "Accepted"}
    )
    assert command.status == "accepted"
    assert availability(evses) == {1: "Operative", 2: "Inoperative"}
    call(evses, "ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 2}}, {"status": "Accepted"})
    assert availability(evses) == {1: "Operative", 2: "Operative"}


def test_an_evse_the_station_never_reported_gets_its_row(station: ChargePoint) -> None:
    call(station, "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 3}}, {"status": "Accepted"})
    assert availability(station) == {3: "Inoperative"}


def test_TC_G_05_CSMS_TC_G_06_CSMS_change_availability_of_the_station(evses: ChargePoint) -> None:
    command = call(evses, "ChangeAvailability", {"operationalStatus": "Inoperative"}, {"status": "Accepted"})
    assert command.status == "accepted"
    assert availability(evses) == {0: "Inoperative", 1: "Inoperative", 2: "Inoperative"}
    call(evses, "ChangeAvailability", {"operationalStatus": "Operative"}, {"status": "Accepted"})
    assert availability(evses) == {0: "Operative", 1: "Operative", 2: "Operative"}


def test_TC_G_07_CSMS_TC_G_08_CSMS_a_connectors_availability_leaves_its_evses_as_it_is(evses: ChargePoint) -> None:
    payload = {"operationalStatus": "Inoperative", "evse": {"id": 1, "connectorId": 1}}
    command = call(evses, "ChangeAvailability", payload, {"status": "Accepted"})
    assert (command.status, command.response) == ("accepted", {"status": "Accepted"})
    assert availability(evses) == {1: "Operative", 2: "Operative"}  # the connector reports Unavailable itself


@pytest.mark.parametrize("payload", [{"evse": {"id": 1}}, {}])  # TC_G_11_CSMS, TC_G_14_CSMS
def test_TC_G_11_CSMS_TC_G_14_CSMS_scheduled_during_a_session_is_taken(
    evses: ChargePoint, payload: dict[str, Any]
) -> None:
    command = call(
        evses, "ChangeAvailability", {"operationalStatus": "Inoperative", **payload}, {"status": "Scheduled"}
    )
    assert (command.status, command.response) == ("accepted", {"status": "Scheduled"})
    assert availability(evses)[1] == "Inoperative"


def test_a_rejected_availability_change_changes_nothing(evses: ChargePoint) -> None:
    command = call(evses, "ChangeAvailability", {"operationalStatus": "Inoperative"}, {"status": "Rejected"})
    assert command.status == "rejected"
    assert availability(evses) == {1: "Operative", 2: "Operative"}


# --- errors, and 1.6 unchanged ---------------------------------------------------------------------


def test_a_call_error_or_an_invalid_answer_fails_the_command_with_no_effect(station: ChargePoint) -> None:
    command = sent(station, "ChangeAvailability", {"operationalStatus": "Inoperative"})
    results_handle(
        [
            Frame(
                charge_point_id="CS-1",
                kind=Kind.ERROR,
                message_id=command.message_id,
                error_code="NotSupported",
                ocpp_version="2.0.1",
            )
        ]
    )
    command.refresh_from_db()
    assert (command.status, command.error_code) == ("failed", "NotSupported")
    assert availability(station) == {}
    command = answer(sent(station, "Reset", {"type": "Immediate"}), {"status": "Soon"})
    assert (command.status, command.error_code) == ("failed", "PropertyConstraintViolation")
    station.refresh_from_db()
    assert station.reset_requested_at is None
    command = answer(sent(station, "GetVariables", {"getVariableData": [HEARTBEAT]}), {})
    assert (command.status, command.error_code) == ("failed", "OccurrenceConstraintViolation")  # 2.0.1's spelling


def test_a_1_6_scheduled_answer_stays_rejected_as_before() -> None:
    charger = ChargePoint.objects.create(charge_point_id="CP-16", registration_status="Accepted", online=True)
    command = sent(charger, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})
    command = answer(command, {"status": "Scheduled"}, version="1.6")
    assert command.status == "rejected"


def test_answers_of_several_stations_in_one_batch_each_apply_to_their_own(station: ChargePoint) -> None:
    other = ChargePoint.objects.create(
        charge_point_id="CS-2", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )
    first = sent(station, "GetVariables", {"getVariableData": [HEARTBEAT]})
    second = sent(other, "GetVariables", {"getVariableData": [HEARTBEAT]})
    results_handle(
        [
            Frame(
                charge_point_id=cp.charge_point_id,
                kind=Kind.RESULT,
                message_id=command.message_id,
                payload={"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": v, **HEARTBEAT}]},
                ocpp_version="2.0.1",
                received_at=utcnow(),
            )
            for cp, command, v in ((station, first, "10"), (other, second, "20"))
        ]
    )
    assert (value(station, "HeartbeatInterval"), value(other, "HeartbeatInterval")) == ("10", "20")
