"""End to end, OCPP 2.0.1 smart charging (block K): an ``ocpp.v201`` ChargePoint -> our gateway -> broker ->
bridge -> Celery worker -> back, every command from the smart charging API (or the remote start shortcut).
The station answers like the spec's happy path and reports its device model's SmartChargingCtrlr limits.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import connect

from apikeys.testing import ApiClientFactory
from chargers.models import ChargingProfile, Command, DeviceVariable, IdTag
from conftest import Stack
from gateway import services
from gateway.tests.conftest import new_cid, stack_topics
from smartcharging.models import ChargingLimit, CompositeSchedule, EVChargingNeeds, ProfileReport
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OCPP201 = "ocpp2.0.1"
T0 = "2026-12-01T10:00:00Z"
STATION = {"vendorName": "ACME", "model": "SC-22", "serialNumber": "SN-K", "firmwareVersion": "1.0"}
TX_ID = "tx-sc-1"


def wait_for(predicate: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    try:
        while not (result := predicate()):
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.1)
        return result
    finally:
        connections.close_all()


async def await_for(predicate: Callable[[], Any], timeout: float = 30) -> Any:
    return await asyncio.to_thread(wait_for, predicate, timeout)


def _variable(name: str, value: str, instance: str = "") -> dict[str, Any]:
    variable: dict[str, Any] = {"name": name}
    if instance:
        variable["instance"] = instance
    return {
        "component": {"name": "SmartChargingCtrlr"},
        "variable": variable,
        "variableAttribute": [{"type": "Actual", "value": value, "mutability": "ReadOnly"}],
        "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": False},
    }


def max_profile(profile_id: int, limit: float, stack_level: int = 0) -> dict[str, Any]:
    return {
        "id": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "ChargingStationMaxProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "startSchedule": T0,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            }
        ],
    }


class Station(ChargePoint):
    """A 2.0.1 station with smart charging: takes every profile, reports what it holds in two parts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> call_result.GetBaseReport:
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id: int, **_: Any) -> None:
        report = [
            _variable("ProfileStackLevel", "5"),
            _variable("PeriodsPerSchedule", "4"),
            _variable("Entries", "8", "ChargingProfiles"),
        ]
        await self.call(call.NotifyReport(request_id=request_id, generated_at=T0, seq_no=0, report_data=report))

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        self.received.append(("SetChargingProfile", {"evse_id": evse_id, **charging_profile}))
        return call_result.SetChargingProfile(status="Accepted")

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any) -> Any:
        self.received.append(("RequestStartTransaction", kwargs))
        return call_result.RequestStartTransaction(status="Accepted")

    @after("RequestStartTransaction")
    async def after_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any) -> None:
        await self.call(
            call.TransactionEvent(
                event_type="Started",
                timestamp=T0,
                trigger_reason="RemoteStart",
                seq_no=0,
                transaction_info={"transactionId": TX_ID, "remoteStartId": remote_start_id},
                evse={"id": 1, "connectorId": 1},
                id_token=id_token,
            )
        )

    @on("GetChargingProfiles")
    def on_get_charging_profiles(self, request_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        return call_result.GetChargingProfiles(status="Accepted")

    @after("GetChargingProfiles")
    async def after_get_charging_profiles(self, request_id: int, **_: Any) -> None:
        # Two parts: the CSMS's max profile as the station holds it, then one an EMS set on the station.
        await self.call(
            call.ReportChargingProfiles(
                request_id=request_id,
                charging_limit_source="CSO",
                evse_id=0,
                charging_profile=[max_profile(1, 32.0)],
                tbc=True,
            )
        )
        await self.call(
            call.ReportChargingProfiles(
                request_id=request_id,
                charging_limit_source="EMS",
                evse_id=0,
                charging_profile=[max_profile(70, 20.0, stack_level=3)],
            )
        )

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(self, duration: int, evse_id: int, **_: Any) -> Any:
        periods = [{"startPeriod": 0, "limit": 16.0}, {"startPeriod": duration // 2, "limit": 10.0}]
        schedule = {
            "evseId": evse_id,
            "duration": duration,
            "scheduleStart": T0,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": periods,
        }
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        self.received.append(("ClearChargingProfile", kwargs))
        return call_result.ClearChargingProfile(status="Accepted")


def credentials(cid: str) -> dict[str, str]:
    _, password = services.credential_set_password(charge_point_id=cid)
    token = base64.b64encode(f"{cid}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_TC_K_03_TC_K_37_TC_K_60_TC_K_29_TC_K_43_TC_K_05_TC_K_48_TC_K_53_smart_charging_through_our_gateway(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201sc")
    headers = credentials(cid)
    IdTag.objects.create(id_tag="SC-CARD", type="ISO14443")
    api = api_client("operator")
    base = f"/api/v1/chargers/{cid}"

    def post(path: str, body: dict[str, Any]) -> Any:
        return api.post(f"{base}{path}", body, format="json")

    def command_done(pk: int) -> bool:
        return Command.objects.filter(pk=pk, status="accepted").exists()

    def profile_row(profile_id: int, **fields: Any) -> ChargingProfile | None:
        return ChargingProfile.objects.filter(
            charge_point__charge_point_id=cid, profile_id=profile_id, active=True, **fields
        ).first()

    async def queued(path: str, body: dict[str, Any]) -> int:
        response = await asyncio.to_thread(post, path, body)
        assert response.status_code == 202, response.content
        pk = int(response.json()["id"])
        await await_for(lambda: command_done(pk))
        return pk

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            station = Station(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert boot.status == "Accepted"
            for evse in (1, 2):
                await station.call(
                    call.StatusNotification(timestamp=T0, connector_status="Available", evse_id=evse, connector_id=1)
                )
            await await_for(
                lambda: (
                    DeviceVariable.objects.filter(
                        charge_point__charge_point_id=cid, component="SmartChargingCtrlr"
                    ).count()
                    == 3
                )
            )

            # The station's ProfileStackLevel (5) is known: a level above it never leaves.
            too_high = await asyncio.to_thread(
                post, "/charging-profiles/", {"evse_id": 0, "charging_profile": max_profile(9, 32.0, 6)}
            )
            assert too_high.status_code == 400 and "ProfileStackLevel" in str(too_high.json())

            # TC_K_03: the station's max profile.
            await queued("/charging-profiles/", {"evse_id": 0, "charging_profile": max_profile(1, 32.0)})
            assert (await await_for(lambda: profile_row(1))).evse_id == 0

            # TC_K_37: a remote start with its TxProfile (no transactionId); the session starts on EVSE 1.
            tx_profile: dict[str, Any] = {
                "id": 2,
                "stackLevel": 1,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": [
                    {"id": 1, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}
                ],
            }
            started = await asyncio.to_thread(
                lambda: api.post(
                    f"{base}/remote-start/",
                    {"id_tag": "SC-CARD", "connector_id": 1, "charging_profile": tx_profile},
                    format="json",
                )
            )
            assert started.status_code == 202, started.content
            session = await await_for(
                lambda: Transaction.objects.filter(
                    charge_point__charge_point_id=cid, charger_transaction_id=TX_ID
                ).first()
            )

            # TC_K_60: a TxProfile for the running session.
            on_session = {**tx_profile, "id": 3, "chargingProfileKind": "Absolute", "transactionId": TX_ID}
            on_session["chargingSchedule"] = [{**tx_profile["chargingSchedule"][0], "startSchedule": T0}]
            await queued("/charging-profiles/", {"evse_id": 1, "charging_profile": on_session})
            assert (await await_for(lambda: profile_row(3))).transaction_id == session.pk

            # TC_K_29: the station's profiles of EVSE 0, reported in two parts, with their sources.
            await queued("/charging-profiles/report/", {"evse_id": 0})
            report = await await_for(
                lambda: ProfileReport.objects.filter(charge_point__charge_point_id=cid, status="complete").first()
            )
            assert (report.parts, report.profiles) == (2, 2)
            ems = await await_for(lambda: profile_row(70, source="station"))
            assert ems.charging_limit_source == "EMS"

            # TC_K_43: the composite schedule of EVSE 1, stored and drawn.
            await queued("/composite-schedule/", {"evse_id": 1, "duration": 3600})
            drawn = (await asyncio.to_thread(api.get, f"{base}/composite-schedule/?evse_id=1")).json()
            assert [p["limit"] for p in drawn["periods"]] == [16.0, 10.0] and drawn["svg_points"]

            # TC_K_05: clear by id.
            await queued("/charging-profiles/clear/", {"charging_profile_id": 70})
            await await_for(lambda: profile_row(70) is None)

            # TC_K_48 / TC_K_50 / TC_K_53: the station's own notifications.
            await station.call(
                call.NotifyChargingLimit(
                    charging_limit={"chargingLimitSource": "EMS", "isGridCritical": True},
                    evse_id=2,
                    charging_schedule=[
                        {"id": 5, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8.0}]}
                    ],
                )
            )
            needs = await station.call(
                call.NotifyEVChargingNeeds(evse_id=1, charging_needs={"requestedEnergyTransfer": "AC_three_phase"})
            )
            assert needs.status == "Rejected"
            await station.call(call.ClearedChargingLimit(charging_limit_source="SO", evse_id=2))
            receiver.cancel()

    asyncio.run(scenario())

    row_limits = ChargingLimit.objects.filter(charge_point__charge_point_id=cid, cleared_at__isnull=True)
    assert [(limit.evse_id, limit.charging_limit_source) for limit in row_limits] == [(2, "EMS")]
    assert EVChargingNeeds.objects.get(charge_point__charge_point_id=cid).status == "Rejected"
    assert CompositeSchedule.objects.filter(charge_point__charge_point_id=cid, evse_id=1).count() == 1
    state = api.get(f"{base}/smart-charging/").json()
    session = Transaction.objects.get(charge_point__charge_point_id=cid, charger_transaction_id=TX_ID)
    assert sorted((p["profile_id"], p["evse_id"], p["transaction_id"]) for p in state["profiles"]) == [
        (1, 0, None),
        (2, 1, session.pk),
        (3, 1, session.pk),
    ]
