"""OCPP 2.1's action lists, read from the schemas the ``ocpp`` package ships (91 actions: a Request and
a Response schema each, except the SEND ones, whose one schema is named after the action alone).

Which side initiates an action is the specification's (part 2), not in the schemas: a station sends
2.0.1's 25 and 2.1's 11 new ones listed here, and the SEND NotifyPeriodicEventStream; every other
action is one only the CSMS sends. DataTransfer goes both ways.
"""

from __future__ import annotations

from pathlib import Path

import ocpp.v21

from ..v201 import actions as v201

SCHEMAS = Path(ocpp.v21.__file__).resolve().parent / "schemas"

#: The actions a station sends as SEND (message type 6): never answered; one schema, named after the action.
SEND_ACTIONS = frozenset(
    path.stem for path in SCHEMAS.glob("*.json") if not path.stem.endswith(("Request", "Response"))
)

#: Every 2.1 action with a Call (a ``<Action>Request.json`` schema), and the SEND ones.
CALL_ACTIONS = frozenset(path.name.removesuffix("Request.json") for path in SCHEMAS.glob("*Request.json"))
ACTIONS = CALL_ACTIONS | SEND_ACTIONS

#: The Calls 2.1 adds that a station initiates.
NEW_CHARGER_ACTIONS = frozenset(
    {
        "BatterySwap",
        "ClosePeriodicEventStream",
        "GetCertificateChainStatus",
        "NotifyDERAlarm",
        "NotifyDERStartStop",
        "NotifyPriorityCharging",
        "NotifySettlement",
        "OpenPeriodicEventStream",
        "PullDynamicScheduleUpdate",
        "ReportDERControl",
        "VatNumberValidation",
    }
)

#: The Calls a station initiates: 2.0.1's 25 (2.1 keeps them all) and 2.1's new ones.
CHARGER_ACTIONS = v201.CHARGER_ACTIONS | NEW_CHARGER_ACTIONS

#: Calls only the CSMS sends (a station sending one gets NotSupported).
CSMS_ACTIONS = CALL_ACTIONS - CHARGER_ACTIONS

#: What may be queued as a command: every Call the CSMS sends, and DataTransfer, each validated against
#: its 2.1 schema (``commands.command_check``).
COMMANDS = CSMS_ACTIONS | {"DataTransfer"}
