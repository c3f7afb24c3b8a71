"""The smart charging API: a station's state, and the convenience endpoints that build and queue commands."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apikeys.testing import ApiClientFactory
from chargers.commands import command_next_send
from chargers.models import ChargePoint, Command

from .helpers import AT, answer, call, handle, profile, station

pytestmark = pytest.mark.django_db

URL = "/api/v1/chargers/CS-1"


@pytest.fixture
def cs() -> ChargePoint:
    return station()


def queued(response: Any, action: str) -> Command:
    assert response.status_code == 202, response.content
    command = Command.objects.get(pk=response.json()["id"])
    assert command.action == action and command.status == "queued"
    return command


def test_TC_K_01_CSMS_set_a_profile_builds_the_command_and_the_answer_stores_it(
    operator_api: APIClient, cs: ChargePoint
) -> None:
    body = profile(4)
    command = queued(
        operator_api.post(f"{URL}/charging-profiles/", {"evse_id": 1, "charging_profile": body}, format="json"),
        "SetChargingProfile",
    )
    assert command.request == {"evseId": 1, "chargingProfile": body}
    sent_command = Command.objects.get(pk=command.pk)
    command_next_send(charge_point_pk=cs.pk)
    sent_command.refresh_from_db()
    answer(sent_command, {"status": "Accepted"})
    listed = operator_api.get(f"{URL}/charging-profiles/").json()
    assert [(row["profile_id"], row["evse_id"], row["source"], row["profile"]) for row in listed] == [
        (4, 1, "csms", body)
    ]
    assert operator_api.get(f"{URL}/charging-profiles/?evse_id=2").json() == []


def test_TC_K_03_CSMS_a_profile_the_station_could_not_take_is_a_400_with_the_reason(
    operator_api: APIClient, cs: ChargePoint
) -> None:
    body = profile(1, "ChargingStationMaxProfile", kind="Relative")
    response = operator_api.post(f"{URL}/charging-profiles/", {"evse_id": 0, "charging_profile": body}, format="json")
    assert response.status_code == 400
    assert response.json()["chargingProfile.chargingProfileKind"] == ["a ChargingStationMaxProfile is never Relative"]
    assert not Command.objects.exists()


def test_TC_K_05_06_CSMS_clear_by_id_or_by_criteria(operator_api: APIClient, cs: ChargePoint) -> None:
    by_id = queued(
        operator_api.post(f"{URL}/charging-profiles/clear/", {"charging_profile_id": 3}), "ClearChargingProfile"
    )
    assert by_id.request == {"chargingProfileId": 3}
    criteria = {"evse_id": 1, "purpose": "TxDefaultProfile", "stack_level": 2}
    by_criteria = queued(operator_api.post(f"{URL}/charging-profiles/clear/", criteria), "ClearChargingProfile")
    assert by_criteria.request == {
        "chargingProfileCriteria": {"evseId": 1, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}
    }
    assert queued(operator_api.post(f"{URL}/charging-profiles/clear/", {}), "ClearChargingProfile").request == {}


def test_TC_K_34_CSMS_ask_for_a_report_with_criteria(operator_api: APIClient, cs: ChargePoint) -> None:
    body = {"evse_id": 1, "charging_limit_sources": ["EMS", "SO"]}
    command = queued(operator_api.post(f"{URL}/charging-profiles/report/", body, format="json"), "GetChargingProfiles")
    request_id = command.request["requestId"]
    assert command.request == {
        "requestId": request_id,
        "evseId": 1,
        "chargingProfile": {"chargingLimitSource": ["EMS", "SO"]},
    }
    state = operator_api.get(f"{URL}/smart-charging/").json()
    assert state["last_report"]["request_id"] == request_id and state["last_report"]["status"] == "requested"


def test_TC_K_43_CSMS_ask_for_and_read_the_composite_schedule(operator_api: APIClient, cs: ChargePoint) -> None:
    assert operator_api.get(f"{URL}/composite-schedule/").status_code == 404
    command = queued(
        operator_api.post(f"{URL}/composite-schedule/", {"evse_id": 1, "duration": 600, "charging_rate_unit": "W"}),
        "GetCompositeSchedule",
    )
    assert command.request == {"evseId": 1, "duration": 600, "chargingRateUnit": "W"}
    command_next_send(charge_point_pk=cs.pk)
    command.refresh_from_db()
    periods = [{"startPeriod": 0, "limit": 11000.0}, {"startPeriod": 300, "limit": 7400.0}]
    schedule = {
        "evseId": 1,
        "duration": 600,
        "scheduleStart": AT,
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": periods,
    }
    answer(command, {"status": "Accepted", "schedule": schedule})
    body = operator_api.get(f"{URL}/composite-schedule/?evse_id=1").json()
    assert (body["command_id"], body["periods"], body["charging_rate_unit"]) == (command.pk, periods, "W")
    assert body["svg_points"]
    assert operator_api.get(f"{URL}/composite-schedule/?evse_id=2").status_code == 404
    assert operator_api.get(f"{URL}/composite-schedule/?evse_id=x").status_code == 400


def test_the_state_has_profiles_limits_and_ev_needs(viewer_api: APIClient, cs: ChargePoint) -> None:
    call(
        cs,
        "SetChargingProfile",
        {"evseId": 0, "chargingProfile": profile(1, "ChargingStationMaxProfile")},
        {"status": "Accepted"},
    )
    handle(
        "NotifyChargingLimit",
        {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": True}, "evseId": 1},
        "n1",
    )
    handle("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": {"requestedEnergyTransfer": "DC"}}, "n2")
    body = viewer_api.get(f"{URL}/smart-charging/").json()
    assert [row["profile_id"] for row in body["profiles"]] == [1]
    assert [(row["evse_id"], row["charging_limit_source"], row["is_grid_critical"]) for row in body["limits"]] == [
        (1, "EMS", True)
    ]
    assert [(row["requested_energy_transfer"], row["status"]) for row in body["ev_charging_needs"]] == [
        ("DC", "Rejected")
    ]
    assert body["composite_schedule"] is None


def test_a_viewer_cannot_send_and_anonymous_cannot_read(
    viewer_api: APIClient, api_client: ApiClientFactory, cs: ChargePoint
) -> None:
    assert viewer_api.post(f"{URL}/charging-profiles/clear/", {}).status_code == 403
    assert api_client("anonymous").get(f"{URL}/smart-charging/").status_code == 401
    assert viewer_api.get("/api/v1/chargers/NOPE/smart-charging/").status_code == 404


def test_a_16_charger_is_sent_to_the_commands_endpoint(operator_api: APIClient, cs: ChargePoint) -> None:
    ChargePoint.objects.create(charge_point_id="CP-16", ocpp_version="1.6", registration_status="Accepted")
    response = operator_api.post("/api/v1/chargers/CP-16/charging-profiles/clear/", {})
    assert response.status_code == 400 and "/api/v1/commands/" in response.json()["non_field_errors"][0]


def test_bad_bodies_are_400s(operator_api: APIClient, cs: ChargePoint) -> None:
    assert (
        operator_api.post(
            f"{URL}/charging-profiles/", {"evse_id": -1, "charging_profile": {}}, format="json"
        ).status_code
        == 400
    )
    response = operator_api.post(
        f"{URL}/charging-profiles/", {"evse_id": 1, "charging_profile": {"id": 1}}, format="json"
    )
    assert (
        response.status_code == 400 and "invalid SetChargingProfile request" in response.json()["non_field_errors"][0]
    )
    assert operator_api.post(f"{URL}/composite-schedule/", {"evse_id": 1, "duration": 0}).status_code == 400
