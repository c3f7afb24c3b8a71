"""End to end, block I (tariff and cost): an ``ocpp.v201`` station -> our gateway -> broker -> bridge -> Celery
worker -> back. The station gets the running total in its Updated replies and with CostUpdated (queued the way
the beat task does it), and the final totalCost in the reply to its Ended."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import connect

from conftest import Stack
from gateway import services
from gateway.tests.conftest import new_cid, stack_topics, start_gateway  # noqa: F401 (fixture)
from gateway.tests.test_v201_e2e import await_for
from tariffs.models import Tariff
from tariffs.services import session_costs_send
from transactions.models import Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OCPP201 = "ocpp2.0.1"
STATION = {"vendorName": "ACME", "model": "AC-22", "serialNumber": "SN-COST", "firmwareVersion": "1.0"}


class Station(ChargePoint):
    """A 2.0.1 station that shows the running cost it is sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.costs: list[tuple[float, str]] = []

    @on("CostUpdated")
    def on_cost_updated(self, total_cost: float, transaction_id: str, **_: Any) -> call_result.CostUpdated:
        self.costs.append((total_cost, transaction_id))
        return call_result.CostUpdated()


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _energy(wh: float, moment: datetime, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    return [{"timestamp": _at(moment), "sampledValue": [{"value": wh, "context": context}]}]


def test_TC_I_01_TC_I_02_CSMS_running_and_final_cost_through_our_gateway(
    stack: Stack,
    start_gateway: Any,  # noqa: F811 (the fixture)
) -> None:
    Tariff.objects.create(
        name="Default", currency="EUR", energy_price=Decimal("0.30"), time_price=0, session_fee=Decimal("0.50")
    )
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201cost")
    _, password = services.credential_set_password(charge_point_id=cid)
    headers = {"Authorization": "Basic " + base64.b64encode(f"{cid}:{password}".encode()).decode()}
    tx_id = str(uuid.uuid4())
    t0 = datetime.now(UTC) - timedelta(minutes=30)

    def event(event_type: str, seq_no: int, moment: datetime, **fields: Any) -> call.TransactionEvent:
        info = {"transactionId": tx_id, **fields.pop("info", {})}
        return call.TransactionEvent(
            event_type=event_type,
            timestamp=_at(moment),
            trigger_reason=fields.pop("trigger", "MeterValuePeriodic"),
            seq_no=seq_no,
            transaction_info=info,
            **fields,
        )

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            station = Station(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert boot.status == "Accepted"
            started = await station.call(
                event(
                    "Started",
                    0,
                    t0,
                    trigger="CablePluggedIn",
                    info={"chargingState": "Charging"},
                    evse={"id": 1, "connectorId": 1},
                    meter_value=_energy(1000, t0, "Transaction.Begin"),
                )
            )
            assert started.total_cost == 0.5  # the fee so far
            updated = await station.call(
                event("Updated", 1, t0 + timedelta(minutes=20), meter_value=_energy(5000, t0 + timedelta(minutes=20)))
            )
            assert updated.total_cost == 1.7  # 0.50 + 4 kWh x 0.30

            # I02: what the beat task does every CSMS_COST_UPDATE_SECONDS; the worker sends it to the station.
            queued = await asyncio.to_thread(lambda: len(session_costs_send(now=timezone.now())))
            assert queued == 1
            await await_for(lambda: station.costs)
            assert station.costs == [(1.7, tx_id)]

            ended = await station.call(
                event(
                    "Ended",
                    2,
                    t0 + timedelta(minutes=30),
                    trigger="EVDeparted",
                    info={"stoppedReason": "EVDisconnected", "chargingState": "Idle"},
                    meter_value=_energy(7000, t0 + timedelta(minutes=30), "Transaction.End"),
                )
            )
            # I03: the final total cost: 0.50 + 6 kWh x 0.30.
            assert ended.total_cost == 2.3
            receiver.cancel()

    asyncio.run(scenario())
    session = Transaction.objects.get(charge_point__charge_point_id=cid, charger_transaction_id=tx_id)
    assert (session.total_cost, session.currency, session.cost_sent) == (Decimal("2.30"), "EUR", Decimal("1.70"))
