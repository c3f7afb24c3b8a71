"""OCPP 2.1 as the processing sees it (``PROTOCOL``) and as the domain sees it (``PORT``).

2.1 keeps 2.0.1's messages, so its handlers, bulk handlers, result effects, registration gate, shortcuts
and functional blocks are 2.0.1's (``protocols.v201``), run on payloads validated against 2.1's schemas;
what says a version is 2.1's here: a BootNotification records the station as 2.1 and a SignCertificate's
request is kept as 2.1's. 2.1's own block (``eventstreams``) comes on top, with the SEND handler of
NotifyPeriodicEventStream. A station's Call of a 2.1 action no block implements (BatterySwap,
NotifyDERAlarm, VatNumberValidation...) is answered NotSupported by the processing (a known action).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from certificates.services import certificate_request_handle
from chargers import services as chargers
from chargers.models import ChargePoint, Command
from chargers.ports import Shortcuts
from maintenance import services as maintenance

from .. import BulkHandler, Handler, Protocol
from ..blocks import Block, blocks_check, blocks_handlers, blocks_queued, blocks_results_apply
from ..v201 import handlers as v201_handlers
from ..v201 import protocol as v201
from ..v201 import results as v201_results
from ..v201 import sessions as v201_sessions
from ..v201.shortcuts import SHORTCUTS
from . import commands, enums, eventstreams
from .actions import CHARGER_ACTIONS, COMMANDS, CSMS_ACTIONS
from .errors import MESSAGE_TYPES

VERSION = "2.1"

#: 2.0.1's functional blocks (2.1 keeps their messages), then 2.1's own.
BLOCKS: tuple[Block, ...] = (*v201.BLOCKS, eventstreams.BLOCK)


def _boot_report(cp: ChargePoint, payload: dict[str, Any]) -> chargers.BootReport:
    # 2.0.1's reading of the payload (2.1's BootNotification has the same fields), as 2.1.
    return dataclasses.replace(v201_handlers._boot_report(cp, payload), ocpp_version=VERSION)


def boot_notification(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return v201_handlers._boot_notifications([_boot_report(cp, payload)], now)[0]


def sign_certificate(cp: ChargePoint, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """As 2.0.1's (A02/A03), the request kept as 2.1's."""
    outcome = certificate_request_handle(
        charge_point=cp,
        csr_pem=payload["csr"],
        certificate_type=payload.get("certificateType", "ChargingStationCertificate"),
        ocpp_version=VERSION,
        now=now,
    )
    if outcome.accepted:
        return {"status": "Accepted"}
    return {
        "status": "Rejected",
        "statusInfo": {"reasonCode": outcome.code[:20], "additionalInfo": outcome.reason[:512]},
    }


_VERSIONED: dict[str, Handler] = {"BootNotification": boot_notification, "SignCertificate": sign_certificate}

HANDLERS: dict[str, Handler] = blocks_handlers(
    {**v201_handlers.HANDLERS, **v201_sessions.HANDLERS, **_VERSIONED}, BLOCKS
)
BULK_HANDLERS: dict[str, BulkHandler] = {
    **v201.BULK_HANDLERS,
    "BootNotification": BulkHandler(_boot_report, v201_handlers._boot_notifications),
}

PROTOCOL = Protocol(
    version=VERSION,
    handlers=HANDLERS,
    bulk_handlers=BULK_HANDLERS,
    charger_actions=CHARGER_ACTIONS,
    csms_actions=CSMS_ACTIONS,
    results_apply=blocks_results_apply(v201_results.commands_results_apply, BLOCKS),
    # The same registration gate: a station that is not Accepted sends nothing but BootNotification.
    admit=v201.admit,
    send_handlers=eventstreams.SEND_HANDLERS,
    message_types=MESSAGE_TYPES,
)


class Port:
    """``chargers.ports.ProtocolPort`` for OCPP 2.1."""

    version = VERSION
    # 2.0.1's payloads: the shortcuts' messages are the same in 2.1.
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
        return commands.command_split(charge_point=charge_point, action=action, payload=payload)


PORT = Port()

# The domain's registries keyed by version that 2.0.1 fills: 2.1 keeps those messages, so it takes the same
# spellings (firmware and log commands, ``maintenance``; the certificate renewal is ``commands``').
maintenance.builders_register(VERSION, maintenance.BUILDERS[v201.VERSION])
