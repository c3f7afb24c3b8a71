"""Customer information (block N: N09, N10) driven as the bridge drives it: CustomerInformation queued with
command_enqueue, marked sent and answered through results_handle; NotifyCustomerInformation through
calls_handle; after an accepted clear of an id token, the local list updated differentially."""

from __future__ import annotations

from typing import Any

import pytest

from chargers.commands import CommandError, command_enqueue, command_next_send
from chargers.models import ChargePoint, ChargerEvent, Command
from mqtt_bridge.frames import Kind
from privacy.models import CustomerInformationRequest
from privacy.services import customer_information_report
from protocols.v201.tests.calls import AT, handle
from protocols.v201.tests.test_results import answer, call, sent

pytestmark = pytest.mark.django_db

TOKEN = {"idToken": "100000C01", "type": "Central"}
CERTIFICATE = {"hashAlgorithm": "SHA256", "issuerNameHash": "a1", "issuerKeyHash": "b2", "serialNumber": "c3"}


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def ask(request_id: int = 1, *, report: bool = True, clear: bool = False, **reference: Any) -> dict[str, Any]:
    return {"requestId": request_id, "report": report, "clear": clear, **(reference or {"idToken": TOKEN})}


def notify(request_id: int, seq_no: int, data: str, *, tbc: bool = False, message_id: str = "n1") -> None:
    payload = {"requestId": request_id, "seqNo": seq_no, "data": data, "generatedAt": AT, "tbc": tbc}
    reply = handle("NotifyCustomerInformation", payload, message_id)
    assert (reply.kind, reply.payload) == (Kind.RESULT, {}), (reply.error_code, reply.error_description)


def request(station: ChargePoint, request_id: int = 1) -> CustomerInformationRequest:
    return CustomerInformationRequest.objects.get(charge_point=station, request_id=request_id)


def local_list(station: ChargePoint, version: int | None) -> None:
    ChargePoint.objects.filter(pk=station.pk).update(local_list_version=version)


def list_updates(station: ChargePoint) -> list[Command]:
    return list(Command.objects.filter(charge_point=station, action="SendLocalList").order_by("created_at"))


def refused(station: ChargePoint, payload: dict[str, Any]) -> CommandError:
    with pytest.raises(CommandError) as caught:
        command_enqueue(charge_point=station, action="CustomerInformation", payload=payload)
    return caught.value


# --- N09: get ------------------------------------------------------------------------------------------


def test_TC_N_27_CSMS_get_customer_information_accepted_with_data(station: ChargePoint) -> None:
    command = sent(station, "CustomerInformation", ask(4))
    asked = request(station, 4)
    assert (asked.status, asked.report, asked.clear, asked.id_token, asked.id_token_type, asked.command_id) == (
        "requested",
        True,
        False,
        "100000C01",
        "Central",
        command.pk,
    )
    assert answer(command, {"status": "Accepted"}).status == "accepted"
    notify(4, 0, "Customer information data for the requested idToken.")
    asked.refresh_from_db()
    assert (asked.status, asked.complete) == ("accepted", True)
    assert customer_information_report(request=asked) == "Customer information data for the requested idToken."


def test_TC_N_28_CSMS_get_customer_information_accepted_without_data(station: ChargePoint) -> None:
    call(station, "CustomerInformation", ask(1), {"status": "Accepted"})
    notify(1, 0, "")
    assert (request(station).complete, customer_information_report(request=request(station))) == (True, "")


@pytest.mark.parametrize(("answered", "status"), [("Rejected", "rejected"), ("Invalid", "invalid")])
def test_TC_N_29_CSMS_get_customer_information_not_accepted(station: ChargePoint, answered: str, status: str) -> None:
    info = {"reasonCode": "UnknownCustomer"}
    call(station, "CustomerInformation", ask(1), {"status": answered, "statusInfo": info})
    assert (request(station).status, request(station).status_info) == (status, info)


def test_a_report_in_parts_is_collected_by_seq_no_and_complete_once_every_part_came(station: ChargePoint) -> None:
    call(station, "CustomerInformation", ask(2), {"status": "Accepted"})
    notify(2, 2, "C", message_id="n3")
    notify(2, 0, "A", tbc=True, message_id="n1")
    assert request(station, 2).complete is False  # part 1 is missing
    notify(2, 1, "B", tbc=True, message_id="n2")
    # A part delivered twice is kept once, as first received.
    notify(2, 1, "replayed", tbc=True, message_id="n2")
    asked = request(station, 2)
    assert (asked.complete, asked.parts.count(), customer_information_report(request=asked)) == (True, 3, "ABC")


def test_parts_of_a_request_we_never_made_are_kept_as_unsolicited(station: ChargePoint) -> None:
    notify(77, 0, "spontaneous")
    assert (request(station, 77).status, request(station, 77).complete) == ("unsolicited", True)


def test_a_part_with_a_bad_time_is_a_call_error_and_nothing_is_kept(station: ChargePoint) -> None:
    payload = {"requestId": 1, "seqNo": 0, "data": "x", "generatedAt": "yesterday"}
    reply = handle("NotifyCustomerInformation", payload)
    assert (reply.kind, reply.error_code, reply.error_details["field"]) == (
        Kind.ERROR,
        "PropertyConstraintViolation",
        "generatedAt",
    )
    assert not CustomerInformationRequest.objects.exists()


# --- N10: clear, and the local list ------------------------------------------------------------------------


def test_TC_N_30_CSMS_clear_and_report_removes_the_token_from_the_local_list(station: ChargePoint) -> None:
    local_list(station, 3)
    call(station, "CustomerInformation", ask(1, clear=True), {"status": "Accepted"})
    (update,) = list_updates(station)
    assert update.request == {
        "versionNumber": 4,
        "updateType": "Differential",
        "localAuthorizationList": [{"idToken": TOKEN}],  # no idTokenInfo: the token is removed (D01.FR.17)
    }
    assert (update.status, request(station).local_list_command_id) == ("queued", update.pk)
    notify(1, 0, "Customer information data (cleared).")
    assert request(station).complete
    # The station takes the update: its list is version 4 (the core's SendLocalList effect).
    assert command_next_send(charge_point_pk=station.pk) is not None
    update.refresh_from_db()
    answer(update, {"status": "Accepted"})
    station.refresh_from_db()
    assert station.local_list_version == 4


def test_TC_N_32_CSMS_clear_without_report_and_a_station_without_a_local_list(station: ChargePoint) -> None:
    for request_id, version in ((1, None), (2, 0)):
        local_list(station, version)
        call(station, "CustomerInformation", ask(request_id, report=False, clear=True), {"status": "Accepted"})
        assert request(station, request_id).status == "accepted"
    assert list_updates(station) == []


def test_a_refused_clear_leaves_the_local_list_alone(station: ChargePoint) -> None:
    local_list(station, 3)
    call(station, "CustomerInformation", ask(1, clear=True), {"status": "Rejected"})
    assert list_updates(station) == []


@pytest.mark.parametrize(
    "reference", [{"customerIdentifier": "OpenChargeAlliance"}, {"customerCertificate": CERTIFICATE}]
)
def test_TC_N_62_TC_N_63_CSMS_clear_by_customer_identifier_or_certificate(
    station: ChargePoint, reference: dict[str, Any]
) -> None:
    local_list(station, 3)
    command = call(station, "CustomerInformation", ask(1, clear=True, **reference), {"status": "Accepted"})
    assert "idToken" not in command.request
    asked = request(station)
    assert (asked.customer_identifier, asked.customer_certificate) == (
        reference.get("customerIdentifier", ""),
        reference.get("customerCertificate"),
    )
    assert list_updates(station) == []  # no token named: nothing to take out of the list


def test_the_local_list_update_goes_above_a_version_still_on_its_way(station: ChargePoint) -> None:
    local_list(station, 3)
    clear = sent(station, "CustomerInformation", ask(1, clear=True))
    pending = command_enqueue(
        charge_point=station,
        action="SendLocalList",
        payload={
            "versionNumber": 5,
            "updateType": "Differential",
            "localAuthorizationList": [{"idToken": {"idToken": "OTHER", "type": "Central"}}],
        },
    )
    answer(clear, {"status": "Accepted"})
    assert [update.request["versionNumber"] for update in list_updates(station)] == [5, 6]
    assert pending.status == "queued"


# --- checks before queuing -----------------------------------------------------------------------------------


def test_the_customer_is_named_exactly_one_way(station: ChargePoint) -> None:
    none = refused(station, {"requestId": 1, "report": True, "clear": False})
    assert "one of customerIdentifier, idToken, customerCertificate" in none.message
    two = refused(station, ask(1, idToken=TOKEN, customerIdentifier="OCA"))
    assert set(two.errors) == {"idToken", "customerIdentifier"}
    assert not CustomerInformationRequest.objects.exists()


def test_a_request_for_nothing_and_a_reused_request_id_are_refused(station: ChargePoint) -> None:
    assert "a report, a clear, or both" in refused(station, ask(1, report=False, clear=False)).message
    command_enqueue(charge_point=station, action="CustomerInformation", payload=ask(1))
    assert set(refused(station, ask(1, clear=True)).errors) == {"requestId"}
    assert CustomerInformationRequest.objects.count() == 1


def test_TC_N_27_CSMS_the_charger_history_keeps_the_part_but_not_the_customer_data(station: ChargePoint) -> None:
    call(station, "CustomerInformation", ask(7), {"status": "Accepted"})
    notify(7, 0, "card 100000C01 used 2026-11-30", tbc=False)
    assert request(station, 7).complete
    event = ChargerEvent.objects.get(charge_point=station, status="NotifyCustomerInformation")
    assert "data" not in event.detail and event.detail["dataLength"] == len("card 100000C01 used 2026-11-30")
    assert "100000C01" not in str(event.detail)
