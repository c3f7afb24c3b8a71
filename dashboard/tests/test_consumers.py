"""The websocket side, through the real ASGI application and the real Redis channel layer.

Each test runs its scenario in one event loop (``async_to_sync``); events are sent exactly as the
OCPP handlers send them, through ``backoffice.events.fleet_event`` after a committed change.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from backoffice import events
from backoffice.asgi import application
from backoffice.events import fleet_event
from chargers.models import Command
from chargers.services import StatusReport, status_notifications_record
from dashboard.panels import CHARGER_PANELS

from . import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def session_cookie(user: User) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def communicator(path: str, headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=headers)


@pytest.mark.parametrize("page", ["fleet/", "chargers/{cid}/", "sessions/", "sessions/{tx}/", "pending/"])
def test_anonymous_socket_is_refused_and_a_logged_in_one_accepted(operator: User, page: str) -> None:
    cp = f.charger("WS-AUTH")
    path = "/ws/" + page.format(cid=cp.charge_point_id, tx=f.session(cp).pk)
    cookie = session_cookie(operator)

    async def scenario() -> None:
        anonymous = communicator(path, [ORIGIN])
        connected, _ = await anonymous.connect()
        assert connected is False, path
        await anonymous.disconnect()

        ws = communicator(path, [ORIGIN, cookie])
        connected, _ = await ws.connect()
        assert connected, path
        assert (await ws.receive_json_from(timeout=5))["fragments"]
        await ws.disconnect()

    run(scenario)


def test_socket_from_another_site_is_refused(operator: User) -> None:
    cookie = session_cookie(operator)

    async def scenario() -> None:
        ws = communicator("/ws/fleet/", [(b"origin", b"https://evil.example"), cookie])
        connected, _ = await ws.connect()
        assert connected is False
        await ws.disconnect()

    run(scenario)


def test_fleet_socket_pushes_the_page_then_each_change_in_one_push(operator: User) -> None:
    cp = f.charger("WS-FLEET-1", statuses=("Available",))

    cookie = session_cookie(operator)

    async def scenario() -> None:
        ws = communicator("/ws/fleet/?q=WS-FLEET", [ORIGIN, cookie])
        connected, _ = await ws.connect()
        assert connected
        first = await ws.receive_json_from(timeout=5)  # the whole page, once, at connect
        assert 'data-charge-point="WS-FLEET-1"' in first["fragments"]["fleet-table"]
        assert ">Available<" in first["fragments"]["fleet-table"]

        def fault() -> None:
            report = StatusReport(charge_point=cp, connector_id=1, status="Faulted", error_code="GroundFailure")
            status_notifications_record(reports=[report], now=timezone.now())
            # As a worker sends them: a batch's events reach the fleet group as one message.
            with events.batched():
                fleet_event("ocpp", "WS-ELSEWHERE", action="Heartbeat", outcome="ok")
                fleet_event("ocpp", cp.charge_point_id, action="StatusNotification", outcome="ok")

        await sync_to_async(fault)()
        # The next push after the batch already shows it (no stale push first), and it is one push:
        # the batch's two events were gathered. How soon is the benchmark's to measure, not this test's.
        push = await ws.receive_json_from(timeout=5)
        assert "1: Faulted" in push["fragments"]["fleet-table"]
        assert 'data-count="faulted">1<' in push["fragments"]["fleet-counts"]
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()

    run(scenario)


def test_charger_socket_follows_its_charger_only(operator: User) -> None:
    cp = f.charger("WS-CP-1", statuses=("Available",))
    other = f.charger("WS-CP-2", statuses=("Available",))

    cookie = session_cookie(operator)

    async def scenario() -> None:
        ws = communicator(f"/ws/chargers/{cp.charge_point_id}/", [ORIGIN, cookie])
        assert (await ws.connect())[0]
        first = await ws.receive_json_from(timeout=5)
        # The page's own cards, and the panels other apps registered for a 1.6 charger (dashboard.panels).
        panels = {panel.element for panel in CHARGER_PANELS if panel.versions is None or "1.6" in panel.versions}
        assert panels and set(first["fragments"]) == {
            "charger-header",
            "charger-connectors",
            "charger-sessions",
            "charger-commands",
            "charger-reservations",
            "charger-messages",
            "charger-configuration",
            *panels,
        }

        await sync_to_async(fleet_event)("ocpp", other.charge_point_id, action="Heartbeat", outcome="ok")
        assert await ws.receive_nothing(timeout=0.6)

        def command() -> Command:
            sent = f.answered_command(cp, "Reset", {"type": "Soft"}, {"status": "Accepted"})
            fleet_event("command", cp.charge_point_id, command_id=sent.pk, status=sent.status)
            return sent

        sent = await sync_to_async(command)()
        # The other charger's Heartbeat brought nothing; this event brings exactly one push, the next one.
        push = await ws.receive_json_from(timeout=5)
        html = push["fragments"]["charger-commands"]
        assert f'id="command-{sent.pk}"' in html and "data-status>accepted<" in html
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()

    run(scenario)


def test_a_burst_of_events_becomes_one_push(operator: User) -> None:
    cp = f.charger("WS-BURST", statuses=("Available",))

    cookie = session_cookie(operator)

    async def scenario() -> None:
        ws = communicator(f"/ws/chargers/{cp.charge_point_id}/", [ORIGIN, cookie])
        assert (await ws.connect())[0]
        await ws.receive_json_from(timeout=5)
        for _ in range(20):
            await sync_to_async(fleet_event)("ocpp", cp.charge_point_id, action="Heartbeat", outcome="ok")
        await ws.receive_json_from(timeout=1.0)
        pushes = 1
        while not await ws.receive_nothing(timeout=0.5):
            await ws.receive_json_from()
            pushes += 1
        assert pushes <= 2
        await ws.disconnect()

    run(scenario)


def test_session_socket_refuses_an_unknown_session_and_follows_a_known_one(operator: User) -> None:
    cp = f.charger("WS-SESSION", statuses=("Charging",))
    tx = f.charging_session(cp, watts=3000, energy_wh=500)

    cookie = session_cookie(operator)

    async def scenario() -> None:
        missing = communicator("/ws/sessions/999999999/", [ORIGIN, cookie])
        assert (await missing.connect())[0] is False
        await missing.disconnect()

        ws = communicator(f"/ws/sessions/{tx.pk}/", [ORIGIN, cookie])
        assert (await ws.connect())[0]
        first = await ws.receive_json_from(timeout=5)
        assert "<dd data-power>3.0 kW</dd>" in first["fragments"]["session-summary"]

        def more_power() -> None:
            f.sample(tx, at=timezone.now(), measurand="Power.Active.Import", value=7200, unit="W")
            fleet_event("ocpp", cp.charge_point_id, action="MeterValues", outcome="ok")

        await sync_to_async(more_power)()
        push = await ws.receive_json_from(timeout=1.0)
        assert "<dd data-power>7.2 kW</dd>" in push["fragments"]["session-summary"]
        await ws.disconnect()

    run(scenario)


def test_idle_socket_survives_the_redis_read_timeout(operator: User) -> None:
    """Regression: redis-py's 5 s socket timeout equalled channels_redis's 5 s BZPOPMIN, so a page
    that got no event for 5 s lost its consumer ("Timeout reading from redis") and went stale."""
    cp = f.charger("WS-IDLE", statuses=("Available",))
    cookie = session_cookie(operator)

    async def scenario() -> None:
        ws = communicator(f"/ws/chargers/{cp.charge_point_id}/", [ORIGIN, cookie])
        assert (await ws.connect())[0]
        await ws.receive_json_from(timeout=5)
        assert await ws.receive_nothing(timeout=11)  # two whole BZPOPMIN rounds with nothing
        await sync_to_async(fleet_event)("ocpp", cp.charge_point_id, action="Heartbeat", outcome="ok")
        assert (await ws.receive_json_from(timeout=1.0))["fragments"]
        await ws.disconnect()

    run(scenario)


def test_a_live_page_filters_as_its_page_does_repeated_parameters_included(operator: User) -> None:
    for cid, status in (("WS-Q-AVAIL", "Available"), ("WS-Q-FAULT", "Faulted"), ("WS-Q-CHARGE", "Charging")):
        f.charger(cid, statuses=(status,))
    query = "q=WS-Q&status=Faulted&status=Charging"
    client = Client()
    client.force_login(operator)
    on_load = set(re.findall(r'data-charge-point="(WS-Q-\w+)"', client.get(f"/?{query}").content.decode()))
    assert on_load == {"WS-Q-FAULT", "WS-Q-CHARGE"}
    cookie = session_cookie(operator)

    async def scenario() -> None:
        ws = communicator(f"/ws/fleet/?{query}", [ORIGIN, cookie])
        connected, _ = await ws.connect()
        assert connected
        table = (await ws.receive_json_from(timeout=5))["fragments"]["fleet-table"]
        # The socket re-renders the page with the same filters: both statuses, not the last (nor none).
        assert set(re.findall(r'data-charge-point="(WS-Q-\w+)"', table)) == on_load
        await ws.disconnect()

    run(scenario)
