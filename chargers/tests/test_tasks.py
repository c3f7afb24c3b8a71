"""Sending commands when the broker does not take them: nothing may stay marked "sent"."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from chargers.models import ChargePoint, Command
from mqtt_bridge import mqtt
from mqtt_bridge.mqtt import PublishError
from mqtt_bridge.sending import commands_send_next


@pytest.fixture
def unreachable_broker(settings: Any) -> Iterator[None]:
    """This process's publisher pointed at a port where no broker listens (then a fresh one again)."""
    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.MQTT_URL = f"mqtt://127.0.0.1:{port}"
    mqtt._publisher = None
    yield
    _publisher_close()


def _publisher_close() -> None:
    # A function of its own: inline after the yield, mypy still took the publisher for the None set before it.
    if mqtt._publisher is not None:
        mqtt._publisher.close()
    mqtt._publisher = None


@pytest.mark.django_db(transaction=True)
def test_a_command_the_broker_does_not_take_is_queued_again(unreachable_broker: None) -> None:
    charge_point = ChargePoint.objects.create(charge_point_id="CP-UNSEND", registration_status="Accepted", online=True)
    # The row, not command_enqueue: its dispatch task would be taken by a worker of the session's stack,
    # which could send the command through the real broker before this test's publisher tries.
    command = Command.objects.create(
        charge_point=charge_point,
        action="ClearCache",
        message_id=uuid.uuid4().hex,
        expires_at=timezone.now() + timedelta(hours=1),
    )

    with pytest.raises(PublishError):
        commands_send_next([charge_point.pk])

    command.refresh_from_db()
    assert (command.status, command.sent_at) == (Command.Status.QUEUED, None)
