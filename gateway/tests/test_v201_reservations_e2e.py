"""End to end, OCPP 2.0.1 reservations (block H): the simulated 2.0.1 station (gateway.simulator_v201, built
on the ``ocpp`` package's v201 ChargePoint) -> our gateway -> broker -> bridge -> Celery worker -> back,
commands from the API. The ``stack`` fixture (root conftest.py) runs a bridge and a worker, no beat: an
expiry seen here is the station's ReservationStatusUpdate, not our periodic task.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apikeys.testing import ApiClientFactory
from chargers.models import ChargerEvent, Command, Connector, IdTag, Reservation
from conftest import Stack
from gateway import services
from gateway.simulator import FleetStats, Options
from gateway.simulator_v201 import StationState, run_station
from gateway.tests.conftest import new_cid, stack_topics
from gateway.tests.test_v201_e2e import await_for
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOKEN = {"idToken": "RES-201", "type": "ISO14443"}


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z")


def test_TC_H_01_TC_H_07_TC_H_08_TC_H_17_reservations_with_the_simulated_station(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    """Reserve EVSE 1 and use it with a remote start of the reserved token; reserve any EVSE (the
    station takes EVSE 2) and let it expire; a third on EVSE 1 is Occupied; reserve and cancel."""
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201res")
    _, password = services.credential_set_password(charge_point_id=cid)
    IdTag.objects.create(id_tag=TOKEN["idToken"], type=TOKEN["type"])
    client = api_client("operator")
    options = Options(url=gw.url, password=password, idle=True)
    state = StationState.new(cid, options)

    def command(action: str, payload: dict[str, Any]) -> int:
        response = client.post(
            "/api/v1/commands/", {"charge_point_id": cid, "action": action, "payload": payload}, format="json"
        )
        assert response.status_code == 202, response.content
        return int(response.json()["id"])

    def reservation(reservation_id: int, status: str) -> Reservation | None:
        return Reservation.objects.filter(
            charge_point__charge_point_id=cid, reservation_id=reservation_id, status=status
        ).first()

    def connector(evse_id: int, status: str) -> bool:
        return Connector.objects.filter(charge_point__charge_point_id=cid, evse_id=evse_id, status=status).exists()

    async def run(action: Any) -> Any:
        return await asyncio.to_thread(action)

    async def scenario() -> None:
        stop = asyncio.Event()
        station = asyncio.create_task(run_station(cid, options, FleetStats(), stop, state=state))
        try:
            await await_for(lambda: connector(1, "Available") and connector(2, "Available"), timeout=30)

            # TC_H_01: EVSE 1 for the token; the EVSE reports Reserved.
            await run(
                lambda: command("ReserveNow", {"id": 1, "expiryDateTime": at(600), "idToken": TOKEN, "evseId": 1})
            )
            held = await await_for(lambda: reservation(1, "accepted"))
            assert (held.evse_id, held.id_tag, held.id_token_type) == (1, "RES-201", "ISO14443")
            await await_for(lambda: connector(1, "Reserved"))

            # TC_H_08 / TC_H_07: any EVSE, short-lived: the station takes the free one and lets it expire.
            await run(lambda: command("ReserveNow", {"id": 2, "expiryDateTime": at(4), "idToken": TOKEN}))
            assert (await await_for(lambda: reservation(2, "accepted"))).evse_id is None
            await await_for(lambda: connector(2, "Reserved"))
            await await_for(lambda: reservation(2, "expired"), timeout=30)
            await await_for(lambda: connector(2, "Available"))
            assert state.evses[2].reservation is None

            # EVSE 1 is held: a reservation of another id for it is Occupied, rejected.
            await run(
                lambda: command("ReserveNow", {"id": 3, "expiryDateTime": at(600), "idToken": TOKEN, "evseId": 1})
            )
            await await_for(lambda: reservation(3, "rejected"))

            # TC_H_17: reserve EVSE 2 and cancel it.
            await run(
                lambda: command("ReserveNow", {"id": 4, "expiryDateTime": at(600), "idToken": TOKEN, "evseId": 2})
            )
            await await_for(lambda: reservation(4, "accepted") and connector(2, "Reserved"))
            await run(lambda: command("CancelReservation", {"reservationId": 4}))
            await await_for(lambda: reservation(4, "cancelled") and connector(2, "Available"))

            # H03: the reserved token starts on its EVSE (remote start); Started carries reservationId 1.
            started = await run(
                lambda: client.post(
                    f"/api/v1/chargers/{cid}/remote-start/",
                    {"id_tag": TOKEN["idToken"], "connector_id": 1},
                    format="json",
                )
            )
            assert started.status_code == 202, started.content
            session = await await_for(
                lambda: Transaction.objects.filter(charge_point__charge_point_id=cid, reservation_id=1).first()
            )
            assert session.evse_id == 1 and session.id_tag == TOKEN["idToken"]
            await await_for(lambda: reservation(1, "used"))
            assert state.evses[1].reservation is None
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(station, timeout=30)

    asyncio.run(scenario())
    notices = ChargerEvent.objects.filter(charge_point__charge_point_id=cid, status="ReservationStatusUpdate")
    assert [event.detail for event in notices] == [{"reservationId": 2, "reservationUpdateStatus": "Expired"}]
    answers = Reservation.objects.filter(charge_point__charge_point_id=cid).order_by("reservation_id")
    assert [(r.reservation_id, r.status) for r in answers] == [
        (1, "used"),
        (2, "expired"),
        (3, "rejected"),
        (4, "cancelled"),
    ]


def test_TC_H_14_TC_H_15_TC_H_19_TC_H_20_types_groups_all_reserved_and_removed(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    """A connector type the station has (and one it has not), any EVSE until none is left (Occupied),
    a group token kept; EVSE 1 made Inoperative: the station removes its reservation, which is cancelled."""
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201res")
    _, password = services.credential_set_password(charge_point_id=cid)
    client = api_client("operator")
    options = Options(url=gw.url, password=password, idle=True)
    state = StationState.new(cid, options)
    group = {"idToken": "GROUP-201", "type": "Central"}

    def command(action: str, payload: dict[str, Any]) -> None:
        response = client.post(
            "/api/v1/commands/", {"charge_point_id": cid, "action": action, "payload": payload}, format="json"
        )
        assert response.status_code == 202, response.content

    def reservation(reservation_id: int, status: str) -> Reservation | None:
        return Reservation.objects.filter(
            charge_point__charge_point_id=cid, reservation_id=reservation_id, status=status
        ).first()

    def connector(evse_id: int, status: str) -> bool:
        return Connector.objects.filter(charge_point__charge_point_id=cid, evse_id=evse_id, status=status).exists()

    def reserve(reservation_id: int, **fields: Any) -> None:
        command("ReserveNow", {"id": reservation_id, "expiryDateTime": at(600), "idToken": TOKEN, **fields})

    async def scenario() -> None:
        stop = asyncio.Event()
        station = asyncio.create_task(run_station(cid, options, FleetStats(), stop, state=state))
        try:
            await await_for(lambda: connector(1, "Available") and connector(2, "Available"), timeout=30)
            # TC_H_15: a type the station has (cType2: the first free EVSE), then one it has not.
            await asyncio.to_thread(reserve, 1, connectorType="cType2", groupIdToken=group)
            typed = await await_for(lambda: reservation(1, "accepted"))
            assert (typed.evse_id, typed.connector_type, typed.parent_id_tag) == (None, "cType2", "GROUP-201")
            await await_for(lambda: connector(1, "Reserved"))
            await asyncio.to_thread(reserve, 2, connectorType="cCCS1")
            await await_for(lambda: reservation(2, "rejected"))
            # TC_H_14: any EVSE until every one is reserved; then the station answers Occupied.
            await asyncio.to_thread(reserve, 3)
            await await_for(lambda: reservation(3, "accepted") and connector(2, "Reserved"))
            await asyncio.to_thread(reserve, 4)
            await await_for(lambda: reservation(4, "rejected"))
            # TC_H_20-like: EVSE 1 out of service: the station removes reservation 1 and says so.
            await asyncio.to_thread(
                command, "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 1}}
            )
            await await_for(lambda: reservation(1, "cancelled") and connector(1, "Unavailable"))
            assert await asyncio.to_thread(reservation, 3, "accepted") is not None
            assert state.evses[2].reservation is not None
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(station, timeout=30)

    asyncio.run(scenario())
    rejected = Command.objects.filter(charge_point__charge_point_id=cid, action="ReserveNow", status="rejected")
    assert sorted((c.request["id"], (c.response or {}).get("status")) for c in rejected) == [
        (2, "Rejected"),
        (4, "Occupied"),
    ]
    notices = ChargerEvent.objects.filter(charge_point__charge_point_id=cid, status="ReservationStatusUpdate")
    assert [event.detail for event in notices] == [{"reservationId": 1, "reservationUpdateStatus": "Removed"}]
