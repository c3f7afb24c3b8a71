"""OCPP 2.0.1 as the processing sees it (``PROTOCOL``) and as the domain sees it (``PORT``).

Both are registered by ``protocols.apps`` when Django starts. The handlers are this package's
(provisioning, device model, notifications: ``handlers``) and the sessions' (``sessions``: Authorize,
TransactionEvent, MeterValues), merged here.
"""

from __future__ import annotations

from typing import Any

from chargers.models import ChargePoint, Command, RegistrationStatus
from chargers.ports import Shortcuts

from .. import BulkHandler, Handler, Protocol
from ..blocks import Block, blocks_check, blocks_handlers, blocks_queued, blocks_results_apply
from ..validation import OcppError
from . import (
    commands,
    cost,
    displays,
    enums,
    handlers,
    maintenance,
    monitoring,
    privacy,
    results,
    security,
    sessions,
    smartcharging,
)
from .actions import CHARGER_ACTIONS, COMMANDS, CSMS_ACTIONS
from .shortcuts import SHORTCUTS

VERSION = "2.0.1"

#: The functional blocks beyond the core (``protocols.blocks``): their handlers replace the core's, their
#: effects and checks run after the core's.
BLOCKS: tuple[Block, ...] = (
    security.BLOCK,
    maintenance.BLOCK,
    monitoring.BLOCK,
    smartcharging.BLOCK,
    displays.BLOCK,
    privacy.BLOCK,
    cost.BLOCK,
)

HANDLERS: dict[str, Handler] = blocks_handlers({**handlers.HANDLERS, **sessions.HANDLERS}, BLOCKS)
BULK_HANDLERS: dict[str, BulkHandler] = {**handlers.BULK_HANDLERS, **sessions.BULK_HANDLERS}

#: What a Pending station may send besides BootNotification: what the CSMS asked it for. While Pending
#: the CSMS may read and configure the station (B02: GetBaseReport, GetVariables, SetVariables...), and
#: a report comes back in NotifyReport Calls; refusing those would make the reading impossible.
PENDING_ALLOWED = frozenset({"BootNotification", "NotifyReport"})


def admit(charge_point: ChargePoint, action: str) -> OcppError | None:
    """The registration gate (B02, B03): a station that is not Accepted gets SecurityError for every Call
    but BootNotification (and, while Pending, NotifyReport), unknown actions included: the station may
    not talk before it is accepted, whatever it says. Nothing is applied; the connection stays open
    (we only answer). A Rejected station's boot is still answered Rejected, as long as an operator
    leaves it so."""
    status = charge_point.registration_status
    if status == RegistrationStatus.ACCEPTED or action == "BootNotification":
        return None
    if status == RegistrationStatus.PENDING and action in PENDING_ALLOWED:
        return None
    return OcppError(
        "SecurityError",
        f"{charge_point} is {status}: only BootNotification is accepted until the CSMS accepts it",
        {"registrationStatus": status},
    )


PROTOCOL = Protocol(
    version=VERSION,
    handlers=HANDLERS,
    bulk_handlers=BULK_HANDLERS,
    charger_actions=CHARGER_ACTIONS,
    csms_actions=CSMS_ACTIONS,
    results_apply=blocks_results_apply(results.commands_results_apply, BLOCKS),
    admit=admit,
)


class Port:
    """``chargers.ports.ProtocolPort`` for OCPP 2.0.1."""

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
        # GetVariables / SetVariables past the station's ItemsPerMessage go out as several commands.
        return commands.command_split(charge_point=charge_point, action=action, payload=payload)


PORT = Port()
