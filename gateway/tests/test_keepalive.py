"""The gateway's keepalive watchdog: what keeps a charger's socket, what drops it (issue 13, item 3).

A real charger simulator (SAP e-mobility, OCPP 1.6), answered Pending with interval 60, waited
2 x 60 s before booting again, pinging every 60 s, and was dropped after 90 s. Intervals here are
short so the tests run fast; each waits a number of pings or of retry intervals, never asserts
an elapsed time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from gateway.tests.conftest import OCPP16, RUN, Backoffice, call_topic, new_cid

PRESENCE_PREFIX = f"gwtest-{RUN}/presence/csms-gateway@127.0.0.1"
# 0.4 s x 1.5: a charger is dropped after 0.6 s of silence unless something keeps it.
FAST = {"allow_anonymous": True, "default_heartbeat": 0.4, "keepalive_backoff": 1.5, "keepalive_tick": 0.05}
RETRY_INTERVAL = 1  # seconds; OCPP intervals are integers
BOOT = {"chargePointVendor": "sap", "chargePointModel": "simulator"}


def ws_connect(url: str, cid: str) -> Any:
    # ping_interval=None: the tests send every ping themselves and count them.
    return connect(f"{url}/{cid}", subprotocols=[OCPP16], ping_interval=None)


async def boot(ws: ClientConnection, backoffice: Backoffice, cid: str, unique_id: str, status: str) -> None:
    """A BootNotification the backoffice answers with ``status`` and RETRY_INTERVAL."""
    await ws.send(json.dumps([2, unique_id, "BootNotification", BOOT]))
    body, _ = await asyncio.to_thread(backoffice.expect, call_topic(cid))
    assert body["UniqueId"] == unique_id
    reply = {"currentTime": "2026-12-01T00:00:00Z", "interval": RETRY_INTERVAL, "status": status}
    await asyncio.to_thread(backoffice.send, cid, {"MessageTypeId": 3, "UniqueId": unique_id, "Payload": reply})
    assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == [3, unique_id, reply]


async def ping(ws: ClientConnection, count: int, every: float) -> None:
    """``count`` pings, ``every`` seconds apart, each answered by the gateway's pong."""
    for _ in range(count):
        await asyncio.sleep(every)
        pong = await ws.ping()
        await asyncio.wait_for(pong, 5)


async def boots_again(ws: ClientConnection, backoffice: Backoffice, cid: str) -> None:
    """The socket is still open and the charger's next BootNotification is published."""
    assert ws.state is State.OPEN
    await ws.send(json.dumps([2, "again", "BootNotification", BOOT]))
    body, _ = await asyncio.to_thread(backoffice.expect, call_topic(cid))
    assert body["UniqueId"] == "again"


async def dropped_while_pinging(ws: ClientConnection, count: int, every: float) -> str | None:
    """The close reason when the gateway closes the socket before ``count`` pings are answered."""
    try:
        await ping(ws, count, every)
    except (TimeoutError, ConnectionClosed):
        pass
    else:
        return None  # every ping answered: the socket was kept
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    return ws.close_reason


def test_pending_charger_waiting_out_two_retry_intervals_with_pings_is_kept(
    start_gateway: Any, backoffice: Backoffice
) -> None:
    """The SAP simulator's case: Pending, 2 x the retry interval of pings only, then a new boot."""
    gw = start_gateway(**FAST)
    cid = new_cid("ka")

    async def scenario() -> None:
        async with ws_connect(gw.url, cid) as ws:
            await boot(ws, backoffice, cid, "b1", "Pending")
            await ping(ws, count=8, every=RETRY_INTERVAL * 2 / 8)
            await boots_again(ws, backoffice, cid)

    asyncio.run(scenario())
    assert gw.gateway.counters["keepalive_timeouts"] == 0


def test_emqx_mode_drops_a_pending_charger_that_only_pings(start_gateway: Any, backoffice: Backoffice) -> None:
    """EMQX's rule, kept as an option: only text frames count, and only an Accepted reply sets the interval."""
    gw = start_gateway(**FAST, keepalive_mode="emqx")
    cid = new_cid("ka")

    async def scenario() -> str | None:
        async with ws_connect(gw.url, cid) as ws:
            await boot(ws, backoffice, cid, "b1", "Pending")
            return await dropped_while_pinging(ws, count=8, every=RETRY_INTERVAL * 2 / 8)

    assert asyncio.run(scenario()) == "keepalive_timeout"
    body, _ = backoffice.expect(f"{PRESENCE_PREFIX}/{cid}/disconnected")
    assert body["reason"] == "keepalive_timeout"
    assert gw.gateway.counters["keepalive_timeouts"] == 1


def test_pings_keep_a_socket_alive_by_default(start_gateway: Any, backoffice: Backoffice) -> None:
    """No BootNotification at all: twenty pings over more than three silence allowances keep the socket."""
    gw = start_gateway(**FAST)
    cid = new_cid("ka")

    async def scenario() -> None:
        async with ws_connect(gw.url, cid) as ws:
            await ping(ws, count=20, every=0.1)
            await boots_again(ws, backoffice, cid)

    asyncio.run(scenario())
    assert gw.gateway.counters["keepalive_timeouts"] == 0


@pytest.mark.parametrize("status", ["Pending", "Rejected"])
def test_boot_retry_interval_covers_the_silence_of_a_charger_waiting_to_boot_again(
    start_gateway: Any, backoffice: Backoffice, status: str
) -> None:
    """No pings at all: twice the retry interval of silence is allowed, then a silent charger is dropped."""
    gw = start_gateway(**FAST)
    cid = new_cid("ka")

    async def scenario() -> str | None:
        async with ws_connect(gw.url, cid) as ws:
            await boot(ws, backoffice, cid, "b1", status)
            await asyncio.sleep(RETRY_INTERVAL * 2)
            await boots_again(ws, backoffice, cid)
            assert gw.gateway.counters["keepalive_timeouts"] == 0
            # Still not accepted, and now silent for good: dropped.
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(10):
                    while True:
                        await ws.recv()
            return ws.close_reason

    assert asyncio.run(scenario()) == "keepalive_timeout"
    assert gw.gateway.counters["keepalive_timeouts"] == 1


def test_accepted_boot_ends_the_retry_allowance(start_gateway: Any, backoffice: Backoffice) -> None:
    """Once Accepted, the heartbeat interval rules again, not the longer retry allowance it replaces."""
    gw = start_gateway(**FAST)
    cid = new_cid("ka")

    async def scenario() -> None:
        async with ws_connect(gw.url, cid) as ws:
            await boot(ws, backoffice, cid, "b1", "Pending")
            session = gw.gateway.sessions[cid]
            assert session.retry_interval == RETRY_INTERVAL
            await boot(ws, backoffice, cid, "b2", "Accepted")
            assert session.retry_interval is None
            assert session.interval == RETRY_INTERVAL

    asyncio.run(scenario())
