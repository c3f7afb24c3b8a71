"""The shortcuts and the command API for a 2.0.1 station: the same request bodies as 1.6, the command
the 2.0.1 port builds (``ports.port_of(charge_point).shortcuts``), and 400s naming the field."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from chargers import ports
from chargers.models import Command
from chargers.ports import CommandRequest, Shortcuts

from .v201 import CID

pytestmark = pytest.mark.django_db

Surface = Callable[[], None]
# Ids the station echoes back are fresh per command: compared as "a positive 31-bit integer".
FRESH_IDS = ("remoteStartId", "requestId")


def comparable(action: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fresh = {key: payload[key] for key in FRESH_IDS if key in payload}
    assert all(isinstance(value, int) and 1 <= value <= 2**31 - 1 for value in fresh.values()), fresh
    return action, {key: ("<fresh id>" if key in fresh else value) for key, value in payload.items()}


def queued(surface: Surface) -> tuple[str, dict[str, Any]]:
    Command.objects.all().delete()
    surface()
    command = Command.objects.get()
    assert command.charge_point.charge_point_id == CID
    return comparable(command.action, command.request)


@pytest.fixture
def surfaces(operator_api: APIClient, admin_client: Client, v201: SimpleNamespace) -> SimpleNamespace:
    def api(path: str, data: dict[str, Any]) -> Surface:
        def post() -> None:
            response = operator_api.post(f"/api/v1/chargers/{CID}/{path}/", data, format="json")
            assert response.status_code == 202, response.content

        return post

    def dashboard(data: dict[str, Any]) -> Surface:
        def post() -> None:
            response = admin_client.post(f"/chargers/{CID}/commands/", data)
            assert response.status_code == 302, response.content
            assert not [m for m in response.wsgi_request._messages if m.level_tag == "error"]  # type: ignore[attr-defined]

        return post

    def admin(action: str) -> Surface:
        def post() -> None:
            url = reverse("admin:chargers_chargepoint_changelist")
            response = admin_client.post(url, {"action": action, "_selected_action": [v201.cp.pk]})
            assert response.status_code == 302, response.content

        return post

    return SimpleNamespace(api=api, dashboard=dashboard, admin=admin)


CASES: list[tuple[str, Callable[[Shortcuts, SimpleNamespace], CommandRequest], Callable[..., list[Surface]]]] = [
    (
        "remote start on an EVSE",
        lambda s, v: s.remote_start(id_tag="EMA-DE-8AA-1A2B3C4D5-X", connector_id=2),
        lambda x, v: [
            x.api("remote-start", {"id_tag": "EMA-DE-8AA-1A2B3C4D5-X", "connector_id": 2}),
            x.dashboard({"action": "remote_start", "id_tag": "EMA-DE-8AA-1A2B3C4D5-X", "connector_id": "2"}),
        ],
    ),
    (
        "remote start anywhere with an unknown token",
        lambda s, v: s.remote_start(id_tag="NEW-CARD"),
        lambda x, v: [
            x.api("remote-start", {"id_tag": "NEW-CARD"}),
            x.dashboard({"action": "remote_start", "id_tag": "NEW-CARD"}),
        ],
    ),
    (
        "remote stop",
        lambda s, v: s.remote_stop(transaction_id=v.active.pk),
        lambda x, v: [
            x.api("remote-stop", {"transaction_id": v.active.pk}),
            x.api("remote-stop", {"transaction_id": "abc-123"}),
            x.api("remote-stop", {"transaction_id": str(v.active.pk)}),
            x.dashboard({"action": "remote_stop", "transaction_id": str(v.active.pk)}),
        ],
    ),
    (
        "soft reset",
        lambda s, v: s.reset(hard=False),
        lambda x, v: [
            x.api("reset", {}),
            x.dashboard({"action": "reset", "reset_type": "Soft"}),
            x.dashboard({"action": "Reset", "reset_type": "Soft"}),
            x.admin("soft_reset"),
        ],
    ),
    (
        "hard reset",
        lambda s, v: s.reset(hard=True),
        lambda x, v: [
            x.api("reset", {"type": "Hard"}),
            x.dashboard({"action": "reset", "reset_type": "Hard"}),
            x.admin("hard_reset"),
        ],
    ),
    (
        "unlock an EVSE's connector",
        lambda s, v: s.unlock(connector_id=2),
        lambda x, v: [
            x.api("unlock", {"connector_id": 2}),
            x.dashboard({"action": "unlock", "connector_id": "2"}),
        ],
    ),
    (
        "an EVSE inoperative",
        lambda s, v: s.availability(connector_id=1, operative=False),
        lambda x, v: [
            x.api("availability", {"connector_id": 1, "type": "Inoperative"}),
            x.dashboard({"action": "availability", "connector_id": "1", "availability": "Inoperative"}),
        ],
    ),
    (
        "the station operative",
        lambda s, v: s.availability(connector_id=0, operative=True),
        lambda x, v: [
            x.api("availability", {"connector_id": 0, "type": "Operative"}),
            x.dashboard({"action": "availability", "connector_id": "0", "availability": "Operative"}),
        ],
    ),
    (
        "trigger on an EVSE",
        lambda s, v: s.trigger(message="MeterValues", connector_id=1),
        lambda x, v: [
            x.api("trigger", {"requested_message": "MeterValues", "connector_id": 1}),
            x.dashboard({"action": "trigger", "requested_message": "MeterValues", "connector_id": "1"}),
        ],
    ),
    (
        "trigger a status",
        lambda s, v: s.trigger(message="StatusNotification"),
        lambda x, v: [
            x.api("trigger", {"requested_message": "StatusNotification"}),
            x.dashboard({"action": "trigger", "requested_message": "StatusNotification"}),
            x.admin("trigger_status"),
        ],
    ),
    (
        "device model read",
        lambda s, v: s.configuration_read(),
        lambda x, v: [x.dashboard({"action": "configuration_read"}), x.admin("get_configuration")],
    ),
    ("clear cache", lambda s, v: s.clear_cache(), lambda x, v: [x.admin("clear_cache")]),
]


@pytest.mark.parametrize(("name", "build", "callers"), CASES, ids=[case[0] for case in CASES])
def test_api_dashboard_and_admin_queue_the_command_the_2_0_1_port_builds(
    surfaces: SimpleNamespace,
    v201: SimpleNamespace,
    name: str,
    build: Callable[[Shortcuts, SimpleNamespace], CommandRequest],
    callers: Callable[..., list[Surface]],
) -> None:
    port = ports.port_of(v201.cp)
    assert port.version == "2.0.1"
    expected = build(port.shortcuts, v201)
    assert [queued(surface) for surface in callers(surfaces, v201)] == [
        comparable(expected.action, expected.payload) for _ in callers(surfaces, v201)
    ]


def test_a_remote_stop_by_the_chargers_id_sends_that_id(operator_api: APIClient, v201: SimpleNamespace) -> None:
    response = operator_api.post(f"/api/v1/chargers/{CID}/remote-stop/", {"transaction_id": "abc-123"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["action"], body["request"]) == ("RequestStopTransaction", {"transactionId": "abc-123"})


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("remote-stop", {"transaction_id": "no-such-session"}, "transaction_id"),
        ("remote-stop", {"transaction_id": "xyz-9"}, "transaction_id"),  # ended: nothing to stop
        ("remote-stop", {"transaction_id": 0}, "transaction_id"),
        ("remote-stop", {"transaction_id": True}, "transaction_id"),
        ("remote-stop", {"transaction_id": "x" * 37}, "transaction_id"),
        ("remote-stop", {"transaction_id": ["abc-123"]}, "transaction_id"),
        # The API takes 2.1's 255 characters; a 2.0.1 station's schema (36) names its own field.
        ("remote-start", {"id_tag": "T" * 37}, "id_token"),
        ("remote-start", {"id_tag": "T" * 256}, "id_tag"),
        ("remote-start", {"id_tag": "T", "connector_id": 0}, "connector_id"),
        ("remote-start", {"id_tag": "T", "charging_profile": {"id": "one"}}, "charging_profile"),
        ("unlock", {}, "connector_id"),
        ("availability", {"connector_id": 1, "type": "Sleeping"}, "type"),
        ("trigger", {"requested_message": "DiagnosticsStatusNotification"}, "requested_message"),
        ("reset", {"type": "Gentle"}, "type"),
    ],
)
def test_bad_shortcuts_for_a_2_0_1_station_are_400_naming_the_field(
    operator_api: APIClient, v201: SimpleNamespace, path: str, data: dict[str, Any], field: str
) -> None:
    response = operator_api.post(f"/api/v1/chargers/{CID}/{path}/", data, format="json")
    assert response.status_code == 400, response.content
    # The field, or a field inside it (a charging profile's own fields, in the API's snake case).
    assert any(key == field or key.startswith(field + ".") for key in response.json()), response.json()
    assert not Command.objects.exists()


def test_a_stop_of_another_stations_session_is_refused(
    operator_api: APIClient, fleet: SimpleNamespace, v201: SimpleNamespace
) -> None:
    """A 1.6 charger's session named to the 2.0.1 station (and the other way round) is no session of theirs."""
    to_v201 = operator_api.post(
        f"/api/v1/chargers/{CID}/remote-stop/", {"transaction_id": fleet.active.pk}, format="json"
    )
    assert to_v201.status_code == 400 and "transaction_id" in to_v201.json()
    to_v16 = operator_api.post("/api/v1/chargers/CP-1.a:b/remote-stop/", {"transaction_id": "abc-123"}, format="json")
    assert to_v16.status_code == 400 and "transaction_id" in to_v16.json()
    assert not Command.objects.exists()


def test_the_command_api_takes_2_0_1_actions_for_a_2_0_1_station(
    operator_api: APIClient, v201: SimpleNamespace
) -> None:
    payload = {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}
    response = operator_api.post(
        "/api/v1/commands/", {"charge_point_id": CID, "action": "GetVariables", "payload": payload}, format="json"
    )
    assert response.status_code == 202, response.content
    assert (response.json()["action"], response.json()["request"]) == ("GetVariables", payload)


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("RemoteStartTransaction", {"idTag": "T"}, "action"),  # a 1.6 action
        ("Dance", {}, "action"),
        ("RequestStartTransaction", {"idToken": {"idToken": "T", "type": "Cash"}, "remoteStartId": 1}, "idToken.type"),
        ("RequestStartTransaction", {"idToken": {"idToken": "T", "type": "Central"}}, "remoteStartId"),
        ("Reset", {"type": "Soft"}, "type"),
        (
            "SetVariables",
            {"setVariableData": [{"attributeValue": 1, "component": {"name": "X"}, "variable": {"name": "Y"}}]},
            "setVariableData.0.attributeValue",
        ),
        ("GetVariables", [], "payload"),
        ("DataTransfer", {"vendorId": "a\u0000"}, "payload"),
    ],
)
def test_an_invalid_2_0_1_command_is_a_400_naming_the_field(
    operator_api: APIClient, v201: SimpleNamespace, action: str, payload: Any, field: str
) -> None:
    response = operator_api.post(
        "/api/v1/commands/", {"charge_point_id": CID, "action": action, "payload": payload}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Command.objects.exists()


def test_the_dashboard_refuses_a_stop_the_station_cannot_take_with_a_reason(
    admin_client: Client, v201: SimpleNamespace
) -> None:
    response = admin_client.post(
        f"/chargers/{CID}/commands/",
        {"action": "remote_stop", "transaction_id": str(v201.ended.pk)},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 400 and "2.0.1" in response.json()["message"]
    assert not Command.objects.exists()


def test_the_openapi_text_names_both_versions(viewer_api: APIClient) -> None:
    schema = viewer_api.get("/api/schema/?format=json").json()
    create = schema["paths"]["/api/v1/commands/"]["post"]["description"]
    assert "1.6" in create and "2.0.1" in create and "OCPP 1.6 CSMS-initiated" not in create
    start = schema["paths"]["/api/v1/chargers/{charge_point_id}/remote-start/"]["post"]["description"]
    assert "RequestStartTransaction" in start and "EVSE" in start
    for path in (
        "/api/v1/chargers/{charge_point_id}/evses/",
        "/api/v1/chargers/{charge_point_id}/evses/{evse_id}/",
        "/api/v1/chargers/{charge_point_id}/variables/",
        "/api/v1/transactions/{id}/events/",
    ):
        assert path in schema["paths"], path
    filters = {p["name"] for p in schema["paths"]["/api/v1/transactions/"]["get"]["parameters"]}
    assert {"transaction_id", "evse_id", "ocpp_version"} <= filters
