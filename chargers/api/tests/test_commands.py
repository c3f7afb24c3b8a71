"""Commands through the API: 202 with the command's URL, validation as 400s, cancel, shortcuts, lists."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from chargers.commands import command_enqueue
from chargers.models import Command

pytestmark = pytest.mark.django_db


def test_create_answers_202_with_the_location_of_the_queued_command(
    operator_api: APIClient, fleet: SimpleNamespace
) -> None:
    response = operator_api.post(
        "/api/v1/commands/",
        {"charge_point_id": "CP-1.a:b", "action": "GetConfiguration", "payload": {"key": ["HeartbeatInterval"]}},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"] and body["url"].endswith(f"/api/v1/commands/{body['id']}/")
    command = Command.objects.get(pk=body["id"])
    assert (command.action, command.request, command.status) == (
        "GetConfiguration",
        {"key": ["HeartbeatInterval"]},
        "queued",
    )
    assert command.requested_by.startswith("api:operator-") and "(token test operator)" in command.requested_by
    detail = operator_api.get(body["url"]).json()
    assert detail["status"] == "queued" and detail["charge_point_id"] == "CP-1.a:b" and detail["sent_at"] is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"charge_point_id": "nope", "action": "Reset", "payload": {"type": "Soft"}}, "charge_point_id"),
        ({"charge_point": "nope", "action": "Reset", "payload": {"type": "Soft"}}, "charge_point"),
        ({"action": "Reset", "payload": {"type": "Soft"}}, "charge_point_id"),
        (
            {"charge_point_id": "CP-1.a:b", "charge_point": "CP-2", "action": "Reset", "payload": {"type": "Soft"}},
            "charge_point",
        ),
        ({"charge_point": "CP-1.a:b", "action": "Dance", "payload": {}}, "action"),
        ({"charge_point": "CP-1.a:b", "action": "Reset", "payload": []}, "payload"),
        ({"charge_point": "CP-1.a:b", "action": "Reset", "payload": {"type": "Gentle"}}, "non_field_errors"),
        ({"charge_point": "CP-1.a:b", "action": "Reset", "payload": {}}, "non_field_errors"),
        ({"charge_point": "CP-1.a:b", "action": "DataTransfer", "payload": {"vendorId": "a\u0000"}}, "payload"),
        ({"charge_point": "CP-1.a:b", "action": "Reset", "payload": {"type": "Soft"}, "expires_in": 0}, "expires_in"),
        ({"charge_point": "CP-3", "action": "Reset", "payload": {"type": "Soft"}}, "non_field_errors"),
        (
            {"charge_point": "CP-1.a:b", "action": "RemoteStopTransaction", "payload": {"transactionId": 0}},
            "transactionId",
        ),
    ],
)
def test_bad_commands_are_400_with_field_errors(
    operator_api: APIClient, fleet: SimpleNamespace, data: dict[str, Any], field: str
) -> None:
    response = operator_api.post("/api/v1/commands/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Command.objects.exists()


@pytest.mark.parametrize("name", ["charge_point_id", "charge_point"])
def test_create_takes_the_charger_as_charge_point_id_and_still_as_the_deprecated_charge_point(
    operator_api: APIClient, fleet: SimpleNamespace, name: str
) -> None:
    response = operator_api.post(
        "/api/v1/commands/", {name: "CP-2", "action": "Reset", "payload": {"type": "Soft"}}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["charge_point_id"] == "CP-2"
    assert Command.objects.get().charge_point == fleet.cp2
    # Both names for the same charger are one request, not a conflict.
    both = {"charge_point_id": "CP-2", "charge_point": "CP-2", "action": "ClearCache", "payload": {}}
    assert operator_api.post("/api/v1/commands/", both, format="json").status_code == 202


def test_schema_documents_charge_point_as_deprecated(viewer_api: APIClient) -> None:
    schema = viewer_api.get("/api/schema/?format=json").json()
    ref = schema["paths"]["/api/v1/commands/"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert body["charge_point"].get("deprecated") is True
    assert not body["charge_point_id"].get("deprecated")
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/commands/"]["get"]["parameters"]}
    assert parameters["charge_point"].get("deprecated") is True and "charge_point_id" in parameters


def test_cancel_a_queued_command_then_409(operator_api: APIClient, fleet: SimpleNamespace) -> None:
    command = command_enqueue(charge_point=fleet.cp1, action="ClearCache", payload={})
    response = operator_api.post(f"/api/v1/commands/{command.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = operator_api.post(f"/api/v1/commands/{command.pk}/cancel/")
    assert again.status_code == 409 and "queued" in again.json()["detail"]
    assert operator_api.post("/api/v1/commands/999999999/cancel/").status_code == 404


@pytest.mark.parametrize(
    ("path", "data", "action", "payload"),
    [
        (
            "remote-start",
            {"id_tag": "TAG1", "connector_id": 1},
            "RemoteStartTransaction",
            {"idTag": "TAG1", "connectorId": 1},
        ),
        ("remote-start", {"id_tag": "TAG1"}, "RemoteStartTransaction", {"idTag": "TAG1"}),
        ("reset", {"type": "Hard"}, "Reset", {"type": "Hard"}),
        ("reset", {}, "Reset", {"type": "Soft"}),
        ("unlock", {"connector_id": 2}, "UnlockConnector", {"connectorId": 2}),
        (
            "availability",
            {"connector_id": 0, "type": "Inoperative"},
            "ChangeAvailability",
            {"connectorId": 0, "type": "Inoperative"},
        ),
        (
            "trigger",
            {"requested_message": "StatusNotification", "connector_id": 1},
            "TriggerMessage",
            {"requestedMessage": "StatusNotification", "connectorId": 1},
        ),
    ],
)
def test_shortcuts_queue_the_ocpp_command(
    operator_api: APIClient, fleet: SimpleNamespace, path: str, data: dict[str, Any], action: str, payload: dict
) -> None:
    response = operator_api.post(f"/api/v1/chargers/CP-1.a:b/{path}/", data, format="json")
    assert response.status_code == 202, response.content
    command = Command.objects.get(pk=response.json()["id"])
    assert (command.charge_point_id, command.action, command.request) == (fleet.cp1.pk, action, payload)
    assert response["Location"].endswith(f"/api/v1/commands/{command.pk}/")


def test_remote_stop_of_the_active_session_and_of_an_unknown_one(
    operator_api: APIClient, fleet: SimpleNamespace
) -> None:
    ok = operator_api.post("/api/v1/chargers/CP-1.a:b/remote-stop/", {"transaction_id": fleet.active.pk}, format="json")
    assert ok.status_code == 202 and ok.json()["request"] == {"transactionId": fleet.active.pk}
    stopped = operator_api.post(
        "/api/v1/chargers/CP-1.a:b/remote-stop/", {"transaction_id": fleet.done.pk}, format="json"
    )
    assert stopped.status_code == 400 and "transaction_id" in stopped.json()


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("remote-start", {}, "id_tag"),
        ("remote-start", {"id_tag": "x" * 21}, "id_tag"),
        ("unlock", {"connector_id": 0}, "connector_id"),
        ("availability", {"connector_id": 1, "type": "Maybe"}, "type"),
        ("trigger", {"requested_message": "StartTransaction"}, "requested_message"),
        ("reset", {"type": "Soft", "expires_in": "soon"}, "expires_in"),
    ],
)
def test_bad_shortcut_input_is_400(
    operator_api: APIClient, fleet: SimpleNamespace, path: str, data: dict[str, Any], field: str
) -> None:
    response = operator_api.post(f"/api/v1/chargers/CP-1.a:b/{path}/", data, format="json")
    assert response.status_code == 400 and field in response.json()


def test_shortcut_on_an_unknown_or_rejected_charger(operator_api: APIClient, fleet: SimpleNamespace) -> None:
    assert operator_api.post("/api/v1/chargers/nope/reset/", {}, format="json").status_code == 404
    rejected = operator_api.post("/api/v1/chargers/CP-3/reset/", {}, format="json")
    assert rejected.status_code == 400 and "rejected" in rejected.json()["non_field_errors"][0]


def test_command_list_filters_and_query_count(
    viewer_api: APIClient, fleet: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    for _ in range(10):
        command_enqueue(charge_point=fleet.cp1, action="ClearCache", payload={})
    reset = command_enqueue(charge_point=fleet.cp2, action="Reset", payload={"type": "Soft"})
    with django_assert_max_num_queries(6):
        assert viewer_api.get("/api/v1/commands/").json()["count"] == 11
    for name in ("charge_point_id", "charge_point"):
        body = viewer_api.get(f"/api/v1/commands/?{name}=CP-2").json()
        assert [c["id"] for c in body["results"]] == [reset.pk], name
    assert viewer_api.get("/api/v1/commands/?action=Reset&status=queued").json()["count"] == 1
    assert viewer_api.get("/api/v1/commands/?status=sent").json()["count"] == 0
    assert viewer_api.get("/api/v1/commands/?status=bogus").status_code == 400
    assert viewer_api.get("/api/v1/commands/?created_after=yesterday").status_code == 400
    assert viewer_api.get("/api/v1/commands/12345678901234567890/").status_code == 404
