"""OCPP 1.6's enumerations that the API, the dashboard, the admin and the filters offer, defined once.

Read from the 1.6 JSON schemas the ``ocpp`` package ships (the same files every payload is validated
against), not retyped: a list here cannot disagree with what validation accepts. The package's
Python enums are not used for these: ``ocpp.v16.enums.MessageTrigger`` also holds the security
extension's ``LogStatusNotification`` and ``SignChargePointCertificate``, which a 1.6 TriggerMessage
refuses (they belong to ExtendedTriggerMessage).

Only callers outside the domain read this module (``chargers`` and ``transactions`` never import a
protocol package); they reach it through ``chargers.ports.port_of(charge_point)`` where the list
depends on the charger (``trigger_messages``), or import it where the list is 1.6 by nature.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import ocpp.v16

SCHEMAS = Path(ocpp.v16.__file__).resolve().parent / "schemas"


@cache
def _schema(name: str) -> dict[str, Any]:
    with (SCHEMAS / f"{name}.json").open(encoding="utf-8") as file:
        schema: dict[str, Any] = json.load(file)
    return schema


def schema_enum(name: str, field: str) -> tuple[str, ...]:
    """The ``enum`` of a top-level property of a 1.6 schema, in the schema's order."""
    values = _schema(name)["properties"][field]["enum"]
    return tuple(str(value) for value in values)


#: What a TriggerMessage may ask for (MessageTrigger).
TRIGGER_MESSAGES = schema_enum("TriggerMessage", "requestedMessage")
#: Reset.type (ResetType): Hard, Soft.
RESET_TYPES = schema_enum("Reset", "type")
#: ChangeAvailability.type (AvailabilityType): Inoperative, Operative.
AVAILABILITY_TYPES = schema_enum("ChangeAvailability", "type")
#: A connector's status as StatusNotification reports it (ChargePointStatus). A connector that never
#: reported has the domain's own "Unknown" (``chargers.models.Connector.status``'s default), not listed here.
CONNECTOR_STATUSES = schema_enum("StatusNotification", "status")
#: StatusNotification.errorCode (ChargePointErrorCode).
CONNECTOR_ERROR_CODES = schema_enum("StatusNotification", "errorCode")

__all__ = [
    "AVAILABILITY_TYPES",
    "CONNECTOR_ERROR_CODES",
    "CONNECTOR_STATUSES",
    "RESET_TYPES",
    "TRIGGER_MESSAGES",
    "schema_enum",
]
