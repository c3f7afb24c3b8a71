"""One shortcut, one command: the API, the dashboard and the admin queue the same Call for the same
operator shortcut, the one the charger's version builds (``ports.port_of(charge_point).shortcuts``)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from chargers import ports
from chargers.models import ChargePoint, Command
from chargers.ports import CommandRequest, Shortcuts

pytestmark = pytest.mark.django_db

CID = "CP-1.a:b"
Surface = Callable[[], None]


def queued(surface: Surface) -> tuple[str, dict[str, Any]]:
    """What one surface queued: the only command, as (action, request)."""
    Command.objects.all().delete()
    surface()
    command = Command.objects.get()
    return command.action, command.request


@pytest.fixture
def surfaces(operator_api: APIClient, admin_client: Client, fleet: SimpleNamespace) -> SimpleNamespace:
    def api(path: str, data: dict[str, Any]) -> Surface:
        def post() -> None:
            response = operator_api.post(f"/api/v1/chargers/{CID}/{path}/", data, format="json")
            assert response.status_code == 202, response.content

        return post

    def dashboard(data: dict[str, Any]) -> Surface:
        def post() -> None:
            response = admin_client.post(f"/chargers/{CID}/commands/", data)
            assert response.status_code == 302, response.content

        return post

    def admin(action: str) -> Surface:
        def post() -> None:
            url = reverse("admin:chargers_chargepoint_changelist")
            response = admin_client.post(url, {"action": action, "_selected_action": [fleet.cp1.pk]})
            assert response.status_code == 302, response.content

        return post

    return SimpleNamespace(api=api, dashboard=dashboard, admin=admin)


CASES: list[tuple[str, Callable[[Shortcuts, SimpleNamespace], CommandRequest], Callable[..., list[Surface]]]] = [
    (
        "remote start",
        lambda s, fleet: s.remote_start(id_tag="TAG1", connector_id=1),
        lambda x, fleet: [
            x.api("remote-start", {"id_tag": "TAG1", "connector_id": 1}),
            x.dashboard({"action": "RemoteStartTransaction", "id_tag": "TAG1", "connector_id": "1"}),
            x.dashboard({"action": "remote_start", "id_tag": "TAG1", "connector_id": "1"}),
        ],
    ),
    (
        "remote start on any connector",
        lambda s, fleet: s.remote_start(id_tag="TAG1"),
        lambda x, fleet: [
            x.api("remote-start", {"id_tag": "TAG1"}),
            x.dashboard({"action": "RemoteStartTransaction", "id_tag": "TAG1"}),
        ],
    ),
    (
        "remote stop",
        lambda s, fleet: s.remote_stop(transaction_id=fleet.active.pk),
        lambda x, fleet: [
            x.api("remote-stop", {"transaction_id": fleet.active.pk}),
            x.dashboard({"action": "RemoteStopTransaction", "transaction_id": str(fleet.active.pk)}),
        ],
    ),
    (
        "soft reset",
        lambda s, fleet: s.reset(hard=False),
        lambda x, fleet: [
            x.api("reset", {}),
            x.api("reset", {"type": "Soft"}),
            x.dashboard({"action": "Reset", "reset_type": "Soft"}),
            x.admin("soft_reset"),
        ],
    ),
    (
        "hard reset",
        lambda s, fleet: s.reset(hard=True),
        lambda x, fleet: [
            x.api("reset", {"type": "Hard"}),
            x.dashboard({"action": "Reset", "reset_type": "Hard"}),
            x.admin("hard_reset"),
        ],
    ),
    (
        "unlock",
        lambda s, fleet: s.unlock(connector_id=2),
        lambda x, fleet: [
            x.api("unlock", {"connector_id": 2}),
            x.dashboard({"action": "UnlockConnector", "connector_id": "2"}),
        ],
    ),
    (
        "whole charger inoperative",
        lambda s, fleet: s.availability(connector_id=0, operative=False),
        lambda x, fleet: [
            x.api("availability", {"connector_id": 0, "type": "Inoperative"}),
            x.dashboard({"action": "ChangeAvailability", "connector_id": "0", "availability": "Inoperative"}),
        ],
    ),
    (
        "trigger on a connector",
        lambda s, fleet: s.trigger(message="MeterValues", connector_id=1),
        lambda x, fleet: [
            x.api("trigger", {"requested_message": "MeterValues", "connector_id": 1}),
            x.dashboard({"action": "TriggerMessage", "requested_message": "MeterValues", "connector_id": "1"}),
        ],
    ),
    (
        "trigger a status",
        lambda s, fleet: s.trigger(message="StatusNotification"),
        lambda x, fleet: [
            x.api("trigger", {"requested_message": "StatusNotification"}),
            x.dashboard({"action": "TriggerMessage", "requested_message": "StatusNotification"}),
            x.admin("trigger_status"),
        ],
    ),
    (
        "configuration read",
        lambda s, fleet: s.configuration_read(),
        lambda x, fleet: [x.dashboard({"action": "GetConfiguration"}), x.admin("get_configuration")],
    ),
    ("clear cache", lambda s, fleet: s.clear_cache(), lambda x, fleet: [x.admin("clear_cache")]),
]


@pytest.mark.parametrize(("name", "build", "callers"), CASES, ids=[case[0] for case in CASES])
def test_api_dashboard_and_admin_queue_the_command_the_version_builds(
    surfaces: SimpleNamespace,
    fleet: SimpleNamespace,
    name: str,
    build: Callable[[Shortcuts, SimpleNamespace], CommandRequest],
    callers: Callable[..., list[Surface]],
) -> None:
    expected = build(ports.port_of(fleet.cp1).shortcuts, fleet)
    assert [queued(surface) for surface in callers(surfaces, fleet)] == [
        (expected.action, expected.payload) for _ in callers(surfaces, fleet)
    ]


def test_accepting_an_online_pending_charger_queues_the_versions_boot_now(
    admin_api: APIClient, fleet: SimpleNamespace
) -> None:
    ChargePoint.objects.filter(pk=fleet.cp2.pk).update(online=True)
    assert admin_api.post("/api/v1/chargers/CP-2/accept/").status_code == 200
    expected = ports.port_of(fleet.cp2).shortcuts.boot_now()
    command = Command.objects.get(charge_point=fleet.cp2)
    assert (command.action, command.request) == (expected.action, expected.payload)


def test_a_charger_of_a_version_no_package_speaks_gets_a_400_everywhere_not_a_500(
    operator_api: APIClient, admin_client: Client, fleet: SimpleNamespace
) -> None:
    ChargePoint.objects.filter(pk=fleet.cp1.pk).update(ocpp_version="9.9")
    shortcut = operator_api.post(f"/api/v1/chargers/{CID}/reset/", {}, format="json")
    assert shortcut.status_code == 400 and "9.9" in shortcut.json()["non_field_errors"][0]
    generic = operator_api.post(
        "/api/v1/commands/", {"charge_point_id": CID, "action": "Reset", "payload": {"type": "Soft"}}, format="json"
    )
    assert generic.status_code == 400 and "charge_point_id" in generic.json()
    button = admin_client.post(
        f"/chargers/{CID}/commands/", {"action": "Reset", "reset_type": "Soft"}, headers={"X-Requested-With": "fetch"}
    )
    assert button.status_code == 400 and "9.9" in button.json()["message"]
    assert admin_client.get(f"/chargers/{CID}/").status_code == 200
    assert not Command.objects.exists()
