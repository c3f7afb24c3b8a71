"""Operator alerts reach an open dashboard live: a raised alert re-renders the fleet page's alerts panel and the
charger page's, through the real ASGI application and the real Redis channel layer."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from alerts.services import security_event_alert
from backoffice.asgi import application
from chargers.models import ChargePoint

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


@pytest.mark.parametrize("page", ["fleet", "charger"])
def test_a_raised_alert_shows_up_on_an_open_page(page: str) -> None:
    cp = ChargePoint.objects.create(charge_point_id="AL-LIVE", ocpp_version="2.0.1", registration_status="Accepted")
    user = User.objects.create_user(username="alerts-operator")
    client = Client()
    client.force_login(user)
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    path, element = ("/ws/fleet/", "fleet-alerts") if page == "fleet" else ("/ws/chargers/AL-LIVE/", "charger-alerts")

    async def scenario() -> None:
        ws = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie])
        connected, _ = await ws.connect()
        assert connected
        first = await ws.receive_json_from(timeout=5)
        assert "No open alert." in first["fragments"][element]
        # The service alone (no OCPP message, whose processing would push on its own): its event is what pushes.
        alert = await sync_to_async(security_event_alert)(charge_point=cp, event_type="TamperDetectionActivated")
        assert alert is not None
        while True:
            push = await ws.receive_json_from(timeout=5)
            html = push["fragments"].get(element, "")
            if f"alert-{alert.pk}" in html:
                break
        assert "Tamper detection activated" in html
        await ws.disconnect()

    async_to_sync(scenario)()
