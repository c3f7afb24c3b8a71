"""`manage.py run_mqtt_bridge`: the ingest core fed by the transports' consumers (MQTT today).

Thin: it builds the ``Bridge`` (mqtt_bridge/bridge.py) and stops it cleanly on SIGTERM/SIGINT, after
the messages received so far are in a task and acknowledged.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mqtt_bridge.bridge import Bridge


class Command(BaseCommand):
    help = "Subscribe to the upstream OCPP topics and hand every message to the Celery workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", default=settings.CSMS_MQTT_CLIENT_ID, help="persistent session id")

    def handle(self, *args: Any, client_id: str, **options: Any) -> None:
        bridge = Bridge(client_id=client_id)

        def stop(signum: int, frame: FrameType | None) -> None:
            bridge.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        bridge.run()
