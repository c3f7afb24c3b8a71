"""The 2.1 command catalogue: 2.1's actions and schemas, then 2.0.1's checks of the station's state.

A command 2.1 keeps from 2.0.1 means the same in both (RequestStopTransaction names an active session,
SendLocalList's rules, ReserveNow's expiry, certificates that chain...): those checks, the splitting of
GetVariables / SetVariables past ``ItemsPerMessage`` and what queuing a ReserveNow records are
``protocols.v201.commands``'s, run on a payload that passed 2.1's schema (which may carry 2.1's new
fields: 2.0.1's checks read only the fields both versions have).
"""

from __future__ import annotations

from typing import Any

from certificates.services import RenewalTrigger, renewal_trigger_register
from chargers.commands import CommandError
from chargers.models import ChargePoint

from ..v201 import commands as v201
from ..validation import Kind, OcppError, validate
from .actions import COMMANDS

VERSION = "2.1"

command_split = v201.command_split
command_queued = v201.command_queued


def command_check(*, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Raise CommandError (message for people, errors per field) when this 2.1 command cannot be queued."""
    if action not in COMMANDS:
        names = ", ".join(sorted(COMMANDS))
        raise CommandError(f"{action!r} is not an OCPP 2.1 command", {"action": [f"must be one of {names}"]})
    if not isinstance(payload, dict):
        raise CommandError("the payload must be a JSON object", {"payload": ["must be a JSON object"]})
    try:
        validate(Kind.CALL, action, payload, VERSION)
    except OcppError as exc:
        field = str(exc.details.get("field", "payload"))
        raise CommandError(f"invalid {action} request: {exc.description}", {field: [exc.description]}) from None
    # The same state rules as 2.0.1's for the commands both have.
    v201.command_state_check(charge_point=charge_point, action=action, payload=payload)


# How the CSMS CA asks a 2.1 station for a new CSR before its certificate ends (as 2.0.1).
renewal_trigger_register(
    VERSION, RenewalTrigger("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})
)
