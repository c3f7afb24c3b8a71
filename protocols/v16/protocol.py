"""OCPP 1.6 as the processing sees it (``PROTOCOL``) and as the domain sees it (``PORT``).

Both are registered by ``protocols.apps`` when Django starts: ``PROTOCOL`` in ``protocols.PROTOCOLS``,
``PORT`` with ``chargers.ports.register``.
"""

from __future__ import annotations

from typing import Any

from chargers.models import ChargePoint, Command
from chargers.ports import Shortcuts

from .. import Protocol
from ..blocks import Block, blocks_check, blocks_handlers, blocks_queued, blocks_results_apply
from . import commands, enums, maintenance, results, security, smartcharging
from .actions import CHARGER_ACTIONS, COMMANDS, CSMS_ACTIONS
from .handlers import BULK_HANDLERS
from .handlers import HANDLERS as CORE_HANDLERS
from .shortcuts import SHORTCUTS

VERSION = "1.6"

#: The functional blocks beyond the core (``protocols.blocks``): their handlers replace the core's, their
#: effects and checks run after the core's.
BLOCKS: tuple[Block, ...] = (security.BLOCK, maintenance.BLOCK, smartcharging.BLOCK)

HANDLERS = blocks_handlers(CORE_HANDLERS, BLOCKS)

PROTOCOL = Protocol(
    version=VERSION,
    handlers=HANDLERS,
    bulk_handlers=BULK_HANDLERS,
    charger_actions=CHARGER_ACTIONS,
    csms_actions=CSMS_ACTIONS,
    results_apply=blocks_results_apply(results.commands_results_apply, BLOCKS),
)


class Port:
    """``chargers.ports.ProtocolPort`` for OCPP 1.6."""

    version = VERSION
    shortcuts: Shortcuts = SHORTCUTS
    commands = COMMANDS
    trigger_messages = enums.TRIGGER_MESSAGES

    def command_check(self, *, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
        commands.command_check(charge_point=charge_point, action=action, payload=payload)
        blocks_check(BLOCKS, charge_point, action, payload)

    def command_queued(self, *, command: Command) -> None:
        commands.command_queued(command=command)
        blocks_queued(BLOCKS, command)

    def command_split(self, *, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        # A 1.6 command is one message, as it always was.
        return [payload]


PORT = Port()
