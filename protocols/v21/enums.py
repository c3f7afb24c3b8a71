"""OCPP 2.1's enumerations that the CSMS offers, read from 2.1's schemas (as ``v201.enums`` reads 2.0.1's)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from .actions import SCHEMAS


@cache
def _schema(name: str) -> dict[str, Any]:
    with (SCHEMAS / f"{name}.json").open(encoding="utf-8") as file:
        schema: dict[str, Any] = json.load(file)
    return schema


def schema_enum(name: str, path: str) -> tuple[str, ...]:
    """The ``enum`` of the property at dotted ``path`` of 2.1 schema ``name``, following ``$ref``."""
    schema = _schema(name)
    node: dict[str, Any] = schema
    for field in path.split("."):
        node = _resolved(schema, node)
        if node.get("type") == "array":
            node = _resolved(schema, node["items"])
        node = node["properties"][field]
    return tuple(str(value) for value in _resolved(schema, node)["enum"])


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


#: What a TriggerMessage may ask for in 2.1 (2.0.1's, and e.g. SignCombinedCertificate, CustomTrigger).
TRIGGER_MESSAGES = schema_enum("TriggerMessageRequest", "requestedMessage")
