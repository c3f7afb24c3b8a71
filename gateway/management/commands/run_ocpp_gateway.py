"""python manage.py run_ocpp_gateway: the OCPP-J WebSocket gateway (EMQX-compatible MQTT side)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from gateway.runtime import raise_open_files_limit, stop_event_on_signals
from gateway.server import Gateway, GatewayConfig


class Command(BaseCommand):
    help = (
        "Run the OCPP-J WebSocket gateway: chargers on ws://host:port/ocpp/{cid} (wss:// with "
        "CSMS_GATEWAY_TLS_CERT/KEY, and ws:// on CSMS_GATEWAY_PLAIN_PORT beside it), frames on MQTT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="listen address (CSMS_GATEWAY_HOST)")
        parser.add_argument("--port", type=int, help="listen port (CSMS_GATEWAY_PORT)")
        parser.add_argument(
            "--allow-anonymous", action="store_true", default=None, help="admit chargers without credentials"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        overrides: dict[str, Any] = {}
        if options["host"]:
            overrides["host"] = options["host"]
        if options["port"] is not None:
            overrides["port"] = options["port"]
        if options["allow_anonymous"]:
            overrides["allow_anonymous"] = True
        config = GatewayConfig.from_settings(**overrides)
        limit = raise_open_files_limit()
        logging.getLogger(__name__).info("open files limit %d", limit)
        asyncio.run(self._run(config))

    async def _run(self, config: GatewayConfig) -> None:
        stop = stop_event_on_signals()
        await Gateway(config).serve_forever(stop)
