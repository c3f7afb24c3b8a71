"""The gateway's MQTT link against the real broker: what it logs when it stops."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.conf import settings

from gateway.mqtt import MqttLink


def test_the_gateways_own_clean_disconnect_is_not_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    link = MqttLink(
        url=settings.MQTT_URL,
        client_id=f"gwtest-link-{uuid.uuid4().hex[:8]}",
        subscriptions=[],
        on_message=lambda topic, payload: None,
        clean_session=True,
    )
    link.start()
    assert link.connected.is_set()
    with caplog.at_level(logging.INFO, logger="gateway.mqtt"):
        link.stop()
    disconnects = [record for record in caplog.records if "disconnected" in record.getMessage()]
    assert disconnects, "the disconnect is still logged"
    assert all(record.levelno < logging.WARNING for record in disconnects)
