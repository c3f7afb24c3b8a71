"""OCPP 2.0.1's action lists, read from the schemas the ``ocpp`` package ships (one Request and one
Response schema per action: 64 actions).

Which side initiates an action is the specification's (part 2, the messages' direction), not in the
schemas: the 25 a charging station sends are listed here, every other schema is one only the CSMS
sends. DataTransfer goes both ways: a station's is handled, and the CSMS may send one as a command.
"""

from __future__ import annotations

from pathlib import Path

import ocpp.v201

SCHEMAS = Path(ocpp.v201.__file__).resolve().parent / "schemas"

#: Every 2.0.1 action (a ``<Action>Request.json`` schema).
ACTIONS = frozenset(path.name.removesuffix("Request.json") for path in SCHEMAS.glob("*Request.json"))

#: The 25 actions a charging station initiates.
CHARGER_ACTIONS = frozenset(
    {
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "DataTransfer",
        "FirmwareStatusNotification",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)

#: Actions only the CSMS sends (a station sending one gets NotSupported): every other schema.
CSMS_ACTIONS = ACTIONS - CHARGER_ACTIONS

#: What operators (the API, the dashboard) and the CSMS itself may queue as commands: every action the
#: CSMS sends, and DataTransfer. Each is validated against its 2.0.1 schema before it is queued
#: (``commands.command_check``); what an answer changes is ``results``'s. All of them, not a chosen
#: few as for 1.6: a 2.0.1 integrator addresses the device model, monitoring, certificates and
#: display messages through the generic command endpoint, and a command without an effect here is
#: still sent, answered and kept.
COMMANDS = CSMS_ACTIONS | {"DataTransfer"}
