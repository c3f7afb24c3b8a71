"""OCPP 2.0.1's enumerations that the CSMS offers or reads, defined once.

Read from the 2.0.1 JSON schemas the ``ocpp`` package ships (the files every payload is validated
against), as ``protocols.v16.enums`` reads 1.6's: a list here cannot disagree with what validation
accepts. 2.0.1 schemas name their enums in ``definitions`` (``$ref``), so a field's enum is found
through its reference.

Callers outside the domain reach the charger-dependent lists through ``chargers.ports.port_of``
(``trigger_messages``) or import this module where the list is 2.0.1 by nature.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import ocpp.v201

SCHEMAS = Path(ocpp.v201.__file__).resolve().parent / "schemas"


@cache
def _schema(name: str) -> dict[str, Any]:
    with (SCHEMAS / f"{name}.json").open(encoding="utf-8") as file:
        schema: dict[str, Any] = json.load(file)
    return schema


def schema_enum(name: str, path: str) -> tuple[str, ...]:
    """The ``enum`` of the property at dotted ``path`` of schema ``name`` (e.g. "ResetRequest", "type"),
    following ``$ref`` and array ``items``, in the schema's order."""
    schema = _schema(name)
    node: dict[str, Any] = schema
    for field in path.split("."):
        node = _resolved(schema, node)
        if node.get("type") == "array":
            node = _resolved(schema, node["items"])
        node = node["properties"][field]
    node = _resolved(schema, node)
    return tuple(str(value) for value in node["enum"])


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


#: What a TriggerMessage may ask for (MessageTriggerEnumType).
TRIGGER_MESSAGES = schema_enum("TriggerMessageRequest", "requestedMessage")
#: Reset.type (ResetEnumType): Immediate, OnIdle.
RESET_TYPES = schema_enum("ResetRequest", "type")
#: ChangeAvailability.operationalStatus (OperationalStatusEnumType): Inoperative, Operative.
AVAILABILITY_TYPES = schema_enum("ChangeAvailabilityRequest", "operationalStatus")
#: StatusNotification.connectorStatus (ConnectorStatusEnumType). 2.0.1 reports no error code.
CONNECTOR_STATUSES = schema_enum("StatusNotificationRequest", "connectorStatus")
#: GetBaseReport.reportBase (ReportBaseEnumType).
REPORT_BASES = schema_enum("GetBaseReportRequest", "reportBase")
#: A device model attribute's type (AttributeEnumType): Actual, Target, MinSet, MaxSet.
ATTRIBUTE_TYPES = schema_enum("GetVariablesRequest", "getVariableData.attributeType")
#: SendLocalList.updateType (UpdateEnumType): Differential, Full.
UPDATE_TYPES = schema_enum("SendLocalListRequest", "updateType")
#: How a station read an id token (IdTokenEnumType).
ID_TOKEN_TYPES = schema_enum("AuthorizeRequest", "idToken.type")

#: Statuses of a 2.0.1 answer that mean the station took the command, though not at once or not
#: only it: Reset and ChangeAvailability ``Scheduled`` (done when the session in progress ends),
#: GetLog and UpdateFirmware ``AcceptedCanceled`` (accepted, an earlier one cancelled).
DEFERRED_ACCEPTED_STATUSES = frozenset({"Scheduled", "AcceptedCanceled"})

__all__ = [
    "ATTRIBUTE_TYPES",
    "AVAILABILITY_TYPES",
    "CONNECTOR_STATUSES",
    "DEFERRED_ACCEPTED_STATUSES",
    "ID_TOKEN_TYPES",
    "REPORT_BASES",
    "RESET_TYPES",
    "TRIGGER_MESSAGES",
    "UPDATE_TYPES",
    "schema_enum",
]
