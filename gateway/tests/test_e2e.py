"""End to end: a real OCPP client -> our gateway -> broker -> bridge -> Celery worker -> back.

The ``stack`` fixture (root conftest.py) runs a bridge and a worker on the test database with
CSMS_BOOT_POLICY=accept.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest
from django.db import connections
from ocpp.v16 import ChargePoint, call
from websockets.asyncio.client import connect

from chargers.models import ChargePoint as ChargePointRow
from chargers.models import Connector, IdTag
from conftest import Stack
from gateway import services
from gateway.simulator import FleetStats, Options, run_charger
from gateway.tests.conftest import OCPP16, new_cid, stack_topics
from transactions.models import MeterValue, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOW = "2026-11-23T10:00:00Z"


def wait_for(predicate: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def available_connectors(cid: str) -> int:
    """Counted in a worker thread: close its database connection, or the test database stays busy."""
    try:
        return Connector.objects.filter(charge_point__charge_point_id=cid, status="Available").count()
    finally:
        connections.close_all()


def test_real_charger_through_our_gateway(stack: Stack, start_gateway: Any) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("e2e")
    _, password = services.credential_set_password(charge_point_id=cid)
    IdTag.objects.create(id_tag="CARD-E2E")
    token = base64.b64encode(f"{cid}:{password}".encode()).decode()

    async def scenario() -> None:
        async with connect(
            f"{gw.url}/{cid}", subprotocols=[OCPP16], additional_headers={"Authorization": f"Basic {token}"}
        ) as ws:
            charger = ChargePoint(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(charger.start())
            boot = await charger.call(
                call.BootNotification(charge_point_vendor="ACME", charge_point_model="Gw-22", firmware_version="9.9")
            )
            assert boot.status == "Accepted"
            assert boot.interval > 0
            assert gw.gateway.sessions[cid].interval == boot.interval  # the keepalive followed the reply
            assert (await charger.call(call.Heartbeat())).current_time
            await charger.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
            auth = await charger.call(call.Authorize(id_tag="CARD-E2E"))
            assert auth.id_tag_info["status"] == "Accepted"
            start = await charger.call(
                call.StartTransaction(connector_id=1, id_tag="CARD-E2E", meter_start=1000, timestamp=NOW)
            )
            assert start.id_tag_info["status"] == "Accepted"
            await charger.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=start.transaction_id,
                    meter_value=[{"timestamp": NOW, "sampledValue": [{"value": "1500", "unit": "Wh"}]}],
                )
            )
            stop = await charger.call(
                call.StopTransaction(
                    meter_stop=2500, timestamp=NOW, transaction_id=start.transaction_id, reason="Local"
                )
            )
            assert stop is not None
            receiver.cancel()

    asyncio.run(scenario())
    row = ChargePointRow.objects.get(charge_point_id=cid)
    assert (row.vendor, row.model, row.firmware_version, row.registration_status) == (
        "ACME",
        "Gw-22",
        "9.9",
        "Accepted",
    )
    assert Connector.objects.get(charge_point=row, connector_id=1).status == "Available"
    transaction = Transaction.objects.get(charge_point=row)
    assert (transaction.meter_start, transaction.meter_stop, transaction.stop_reason) == (1000, 2500, "Local")
    wait_for(lambda: MeterValue.objects.filter(transaction=transaction).exists())


def test_simulated_charger_boots_and_reports_its_connectors(stack: Stack, start_gateway: Any) -> None:
    gw = start_gateway(allow_anonymous=True, **stack_topics())
    cid = new_cid("e2e-sim")

    async def scenario() -> None:
        stop = asyncio.Event()
        stats = FleetStats()
        task = asyncio.create_task(run_charger(cid, Options(url=gw.url, idle=True), stats, stop))
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                done = await asyncio.to_thread(available_connectors, cid)
                if done == 3:
                    break
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await task
        assert stats.connects == 1

    asyncio.run(scenario())
    row = ChargePointRow.objects.get(charge_point_id=cid)
    assert (row.vendor, row.registration_status) == ("CSMS-Sim", "Accepted")
    assert sorted(Connector.objects.filter(charge_point=row).values_list("connector_id", flat=True)) == [0, 1, 2]
