"""Display messages (block O) driven as the bridge drives them: commands queued with command_enqueue, marked
sent and answered through results_handle; the station's NotifyDisplayMessages through calls_handle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chargers.commands import CommandError, command_enqueue, command_next_send
from chargers.device_model import VariableKey, VariableValue, device_variable_values_set
from chargers.models import ChargePoint
from displays.models import DisplayMessage
from mqtt_bridge.frames import Kind
from protocols.v201.tests.calls import handle
from protocols.v201.tests.test_commands import session
from protocols.v201.tests.test_results import answer, call, sent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def info(message_id: int = 1, content: str = "Welcome", **fields: Any) -> dict[str, Any]:
    message_format = fields.pop("format", "UTF8")
    return {
        "id": message_id,
        "priority": fields.pop("priority", "NormalCycle"),
        "message": {"format": message_format, "content": content},
        **fields,
    }


def row(station: ChargePoint, message_id: int = 1) -> DisplayMessage:
    return DisplayMessage.objects.get(charge_point=station, message_id=message_id)


def accepted(station: ChargePoint, message_id: int, content: str = "Welcome", **fields: Any) -> DisplayMessage:
    call(station, "SetDisplayMessage", {"message": info(message_id, content, **fields)}, {"status": "Accepted"})
    return row(station, message_id)


def refused(station: ChargePoint, payload: dict[str, Any]) -> CommandError:
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=station, action="SetDisplayMessage", payload=payload)
    assert not DisplayMessage.objects.exists()
    return caught.value


def controller(station: ChargePoint, **values: str) -> None:
    device_variable_values_set(
        charge_point=station,
        values=[VariableValue(VariableKey("DisplayMessageCtrlr", name), value) for name, value in values.items()],
        now=NOW,
    )


# --- O01 / O02 / O06: set ---------------------------------------------------------------------------


def test_TC_O_01_CSMS_set_display_message_without_transaction_is_requested_then_accepted(station: ChargePoint) -> None:
    command = sent(station, "SetDisplayMessage", {"message": info(1, "Welcome", priority="InFront", state="Idle")})
    assert "transactionId" not in command.request["message"]  # O01.FR.04
    message = row(station)
    assert (message.status, message.command_id, message.priority, message.state) == (
        "requested",
        command.pk,
        "InFront",
        "Idle",
    )
    answer(command, {"status": "Accepted"})
    message.refresh_from_db()
    assert (message.status, message.content, message.format, message.transaction_id) == (
        "accepted",
        "Welcome",
        "UTF8",
        "",
    )


def test_TC_O_06_CSMS_a_message_for_an_active_session(station: ChargePoint) -> None:
    session(station, "tx-9")
    message = accepted(station, 3, transactionId="tx-9", priority="AlwaysFront")
    assert (message.status, message.transaction_id, message.priority) == ("accepted", "tx-9", "AlwaysFront")


def test_TC_O_10_CSMS_the_station_does_not_know_the_transaction(station: ChargePoint) -> None:
    session(station, "tx-9")
    command = call(
        station, "SetDisplayMessage", {"message": info(1, transactionId="tx-9")}, {"status": "UnknownTransaction"}
    )
    assert command.status == "rejected"
    assert (row(station).status, row(station).answer) == ("rejected", "UnknownTransaction")


@pytest.mark.parametrize(
    "status", ["NotSupportedMessageFormat", "NotSupportedPriority", "NotSupportedState", "Rejected"]
)
def test_TC_O_26_CSMS_a_refused_message_keeps_the_station_s_answer(station: ChargePoint, status: str) -> None:
    call(station, "SetDisplayMessage", {"message": info(1, state="Faulted")}, {"status": status})
    assert (row(station).status, row(station).answer) == ("rejected", status)


def test_TC_O_13_TC_O_14_CSMS_start_and_end_times_are_kept(station: ChargePoint) -> None:
    message = accepted(station, 1, startDateTime="2026-11-23T12:00:00+01:00", endDateTime="2026-11-23T12:30:00Z")
    assert message.start_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert message.end_at == datetime(2026, 11, 23, 12, 30, tzinfo=UTC)


def test_TC_O_12_CSMS_replacing_a_message_keeps_one_row_and_the_older_answer_changes_nothing(
    station: ChargePoint,
) -> None:
    first = sent(station, "SetDisplayMessage", {"message": info(1, "Old")})
    # The replacement is queued while the first is still out; its answer comes first.
    replacement = command_enqueue(charge_point=station, action="SetDisplayMessage", payload={"message": info(1, "New")})
    answer(first, {"status": "Rejected"})
    message = row(station)
    assert (message.content, message.status, message.command_id) == ("New", "requested", replacement.pk)
    assert command_next_send(charge_point_pk=station.pk) is not None
    replacement.refresh_from_db()
    answer(replacement, {"status": "Accepted"})
    assert DisplayMessage.objects.filter(charge_point=station).count() == 1
    assert (row(station).content, row(station).status) == ("New", "accepted")


# --- checks before queuing -----------------------------------------------------------------------------


def test_an_end_before_the_start_is_refused(station: ChargePoint) -> None:
    error = refused(
        station,
        {"message": info(1, startDateTime="2026-11-23T12:00:00Z", endDateTime="2026-11-23T11:59:59Z")},
    )
    assert error.errors == {"message.endDateTime": ["must be after startDateTime"]}


def test_a_time_without_offset_or_not_a_time_is_refused(station: ChargePoint) -> None:
    assert "message.startDateTime" in refused(station, {"message": info(1, startDateTime="2026-11-23T12:00")}).errors
    assert "message.endDateTime" in refused(station, {"message": info(1, endDateTime="tomorrow")}).errors


def test_a_transaction_that_is_not_an_active_session_of_the_station_is_refused(station: ChargePoint) -> None:
    session(station, "tx-done", stopped_at=NOW)
    other = ChargePoint.objects.create(charge_point_id="CS-2", ocpp_version="2.0.1", registration_status="Accepted")
    session(other, "tx-other")
    for transaction_id in ("tx-done", "tx-other", "tx-none"):
        error = refused(station, {"message": info(1, transactionId=transaction_id)})
        assert "message.transactionId" in error.errors


def test_the_station_s_limits_are_checked_when_its_device_model_knows_them(station: ChargePoint) -> None:
    # Nothing known: anything the schema takes goes.
    command_enqueue(charge_point=station, action="SetDisplayMessage", payload={"message": info(1, "x" * 512)})
    DisplayMessage.objects.all().delete()
    controller(station, PersonalMessageSize="10", SupportedFormats="ASCII,UTF8", SupportedPriorities="NormalCycle")
    assert "message.message.content" in refused(station, {"message": info(1, "x" * 11)}).errors
    assert "message.message.format" in refused(station, {"message": info(1, format="HTML")}).errors
    assert "message.priority" in refused(station, {"message": info(1, priority="AlwaysFront")}).errors
    command_enqueue(charge_point=station, action="SetDisplayMessage", payload={"message": info(1, "x" * 10)})
    assert row(station).status == "requested"


# --- O03 / O04: get, NotifyDisplayMessages ------------------------------------------------------------


def notify(request_id: int, messages: list[dict[str, Any]], tbc: bool = False, message_id: str = "n1") -> None:
    payload: dict[str, Any] = {"requestId": request_id, "tbc": tbc}
    if messages:
        payload["messageInfo"] = messages
    reply = handle("NotifyDisplayMessages", payload, message_id)
    assert (reply.kind, reply.payload) == (Kind.RESULT, {}), (reply.error_code, reply.error_description)


def test_TC_O_02_CSMS_get_all_display_messages_in_two_parts(station: ChargePoint) -> None:
    accepted(station, 1, "Ours")
    accepted(station, 2, "Dropped by the station")
    call(station, "GetDisplayMessages", {"requestId": 7}, {"status": "Accepted"})
    notify(7, [info(1, "Ours"), info(5, "Someone else's", priority="AlwaysFront")], tbc=True, message_id="n1")
    assert row(station, 2).status == "accepted"  # more to come: nothing removed yet
    notify(7, [info(6, "Last", startDateTime="2026-11-23T10:00:00Z")], message_id="n2")
    statuses = dict(DisplayMessage.objects.filter(charge_point=station).values_list("message_id", "status"))
    assert statuses == {1: "accepted", 2: "removed", 5: "reported", 6: "reported"}
    assert (row(station, 5).priority, row(station, 5).report_request_id) == ("AlwaysFront", 7)
    assert row(station, 6).start_at == NOW
    # A replay of the last part changes nothing.
    notify(7, [info(6, "Last", startDateTime="2026-11-23T10:00:00Z")], message_id="n2")
    assert DisplayMessage.objects.filter(charge_point=station).count() == 4


def test_TC_O_03_CSMS_get_all_display_messages_unknown_means_none(station: ChargePoint) -> None:
    accepted(station, 1)
    command = call(station, "GetDisplayMessages", {"requestId": 8}, {"status": "Unknown"})
    assert command.status == "rejected"
    assert row(station, 1).status == "removed"


def test_TC_O_07_TC_O_08_TC_O_09_CSMS_a_specific_request_covers_only_what_it_asked(station: ChargePoint) -> None:
    accepted(station, 1, priority="InFront")
    accepted(station, 2, priority="NormalCycle", state="Charging")
    accepted(station, 3, priority="NormalCycle")
    # TC_O_08: by priority; the station reports nothing under it.
    call(station, "GetDisplayMessages", {"requestId": 1, "priority": "InFront"}, {"status": "Unknown"})
    # TC_O_09: by state; TC_O_07: by id.
    call(station, "GetDisplayMessages", {"requestId": 2, "state": "Charging"}, {"status": "Accepted"})
    notify(2, [info(2, state="Charging")])
    call(station, "GetDisplayMessages", {"requestId": 3, "id": [3]}, {"status": "Accepted"})
    notify(3, [info(3)])
    statuses = dict(DisplayMessage.objects.filter(charge_point=station).values_list("message_id", "status"))
    assert statuses == {1: "removed", 2: "accepted", 3: "accepted"}


def test_an_unsolicited_report_removes_nothing(station: ChargePoint) -> None:
    accepted(station, 1)
    notify(99, [info(4)])
    assert (row(station, 1).status, row(station, 4).status) == ("accepted", "reported")


def test_a_report_with_a_bad_time_is_a_call_error_and_stores_nothing(station: ChargePoint) -> None:
    reply = handle("NotifyDisplayMessages", {"requestId": 1, "messageInfo": [info(1, startDateTime="soon")]})
    assert (reply.kind, reply.error_code, reply.error_details["field"]) == (
        Kind.ERROR,
        "PropertyConstraintViolation",
        "messageInfo.0.startDateTime",
    )
    assert not DisplayMessage.objects.exists()


# --- O05: clear ------------------------------------------------------------------------------------------


def test_TC_O_04_CSMS_clear_display_message_accepted(station: ChargePoint) -> None:
    accepted(station, 1)
    assert call(station, "ClearDisplayMessage", {"id": 1}, {"status": "Accepted"}).status == "accepted"
    assert (row(station).status, row(station).answer) == ("cleared", "")


def test_TC_O_05_CSMS_clear_display_message_unknown(station: ChargePoint) -> None:
    accepted(station, 1)
    assert call(station, "ClearDisplayMessage", {"id": 1}, {"status": "Unknown"}).status == "rejected"
    assert (row(station).status, row(station).answer) == ("cleared", "Unknown")
