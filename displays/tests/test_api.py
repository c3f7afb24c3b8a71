"""The display messages API: list, set with a fresh id, clear, read again; refusals are 400s with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from chargers.models import ChargePoint, Command
from displays.models import DisplayMessage
from protocols.v201.tests.test_commands import session
from protocols.v201.tests.test_results import answer

pytestmark = pytest.mark.django_db

URL = "/api/v1/chargers/CS-1/display-messages/"


@pytest.fixture
def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id="CS-1", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )


def test_TC_O_01_TC_O_12_CSMS_set_a_message_from_the_api_with_a_fresh_id_or_replace_one(
    operator_api: APIClient, station: ChargePoint
) -> None:
    DisplayMessage.objects.create(
        charge_point=station, message_id=4, priority="NormalCycle", format="ASCII", content="Old", status="reported"
    )
    response = operator_api.post(
        URL,
        {
            "priority": "InFront",
            "format": "UTF8",
            "language": "en",
            "content": "Free parking",
            "state": "Idle",
            "start_at": "2026-11-23T10:00:00Z",
            "end_at": "2026-11-23T18:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["message_id"], body["status"], body["content"]) == (5, "requested", "Free parking")
    command = Command.objects.get(pk=body["command"])
    assert command.request == {
        "message": {
            "id": 5,
            "priority": "InFront",
            "message": {"format": "UTF8", "content": "Free parking", "language": "en"},
            "state": "Idle",
            "startDateTime": "2026-11-23T10:00:00Z",
            "endDateTime": "2026-11-23T18:00:00Z",
        }
    }
    listed = operator_api.get(URL).json()
    assert [(m["message_id"], m["status"]) for m in listed] == [(4, "reported"), (5, "requested")]
    # TC_O_12: the station's message 4 replaced by ours.
    replaced = operator_api.post(
        URL, {"message_id": 4, "priority": "NormalCycle", "format": "ASCII", "content": "New"}, format="json"
    )
    assert replaced.status_code == 202, replaced.content
    assert (replaced.json()["message_id"], replaced.json()["status"], replaced.json()["content"]) == (
        4,
        "requested",
        "New",
    )
    assert DisplayMessage.objects.filter(charge_point=station).count() == 2


def test_TC_O_06_CSMS_a_message_for_a_session_and_its_refusals(operator_api: APIClient, station: ChargePoint) -> None:
    session(station, "tx-1")
    ok = operator_api.post(
        URL, {"priority": "AlwaysFront", "format": "ASCII", "content": "Hi", "transaction_id": "tx-1"}, format="json"
    )
    assert ok.status_code == 202, ok.content
    assert Command.objects.get(pk=ok.json()["command"]).request["message"]["transactionId"] == "tx-1"
    unknown = operator_api.post(
        URL, {"priority": "AlwaysFront", "format": "ASCII", "content": "Hi", "transaction_id": "tx-2"}, format="json"
    )
    assert unknown.status_code == 400
    assert "is not an active session" in unknown.json()["non_field_errors"][0]
    assert "message.transactionId" in unknown.json()
    backwards = operator_api.post(
        URL,
        {
            "priority": "NormalCycle",
            "format": "ASCII",
            "content": "Hi",
            "start_at": "2026-11-23T10:00:00Z",
            "end_at": "2026-11-23T09:00:00Z",
        },
        format="json",
    )
    assert (backwards.status_code, backwards.json()) == (400, {"end_at": ["must be after start_at"]})
    bad = operator_api.post(URL, {"priority": "Sometimes", "format": "ASCII", "content": "Hi"}, format="json")
    assert bad.status_code == 400 and "priority" in bad.json()


def test_TC_O_04_CSMS_clear_from_the_api(operator_api: APIClient, station: ChargePoint) -> None:
    DisplayMessage.objects.create(
        charge_point=station, message_id=2, priority="NormalCycle", format="ASCII", content="x", status="accepted"
    )
    response = operator_api.post(URL + "2/clear/")
    assert response.status_code == 202, response.content
    command = Command.objects.get(charge_point=station, action="ClearDisplayMessage")
    assert command.request == {"id": 2}
    command.status, command.sent_at = "sent", datetime.now(UTC)
    command.save()
    answer(command, {"status": "Accepted"})
    assert operator_api.get(URL).json()[0]["status"] == "cleared"
    assert operator_api.post(URL + "3/clear/").status_code == 404


def test_TC_O_02_CSMS_read_the_messages_again_with_fresh_request_ids(
    operator_api: APIClient, station: ChargePoint
) -> None:
    first = operator_api.post(URL + "refresh/")
    second = operator_api.post(URL + "refresh/")
    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["request_id"], second.json()["request_id"]) == (1, 2)
    assert Command.objects.get(pk=second.json()["command"]).request == {"requestId": 2}


def test_roles_and_versions(viewer_api: APIClient, operator_api: APIClient, station: ChargePoint) -> None:
    assert viewer_api.get(URL).status_code == 200
    body = {"priority": "NormalCycle", "format": "ASCII", "content": "x"}
    assert viewer_api.post(URL, body, format="json").status_code == 403
    assert operator_api.get("/api/v1/chargers/nobody/display-messages/").status_code == 404
    ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted")
    old = operator_api.post("/api/v1/chargers/CP-16/display-messages/", body, format="json")
    assert old.status_code == 400
    assert "not an OCPP 1.6 command" in old.json()["non_field_errors"][0]
