"""Routes, whatever the transport: what a message's address says about it.

A route is explicit: it names its transport, the payload dialects it accepts (in order: the first is
the one of a reply to a payload whose structure could not be read) and its OCPP version. A frame's
version and transport are its route's, never read from the payload. Each transport maps its own
addresses onto routes (MQTT topic templates: ``topics.py``; AMQP routing-key prefixes next) and hands
the ingest core a ``RouteMatch`` with every message.
"""

from __future__ import annotations

import dataclasses
import enum
import re

MQTT = "mqtt"
# `ocppj+emqx@2.0.1:ocpp/v201/cp/{cid}`: the dialects, the OCPP version, the address (a topic template).
_ROUTE_ENTRY = re.compile(
    r"(?P<dialects>[a-z0-9]+(?:\+[a-z0-9]+)*)@(?P<version>[0-9]+(?:\.[0-9]+)*):(?P<template>.+)\Z"
)


@dataclasses.dataclass(frozen=True, slots=True)
class RouteSpec:
    """What a route declares: its transport, the dialects it accepts (in order) and its OCPP version."""

    transport: str = MQTT
    dialects: tuple[str, ...] = ("emqx", "ocppj")
    ocpp_version: str = "1.6"

    def __post_init__(self) -> None:
        if not self.dialects:
            raise ValueError("a route accepts at least one dialect")

    @property
    def dialect(self) -> str:
        """The dialect of a reply when the payload's own could not be read."""
        return self.dialects[0]

    @classmethod
    def parse(cls, entry: str, *, transport: str) -> tuple[RouteSpec, str]:
        """``(spec, address)`` from an entry such as ``ocppj@1.6:charger/{cid}`` (a topic template for MQTT)."""
        found = _ROUTE_ENTRY.match(entry.strip())
        if found is None:
            raise ValueError(f"route {entry!r} must look like <dialect>[+<dialect>...]@<version>:<topic template>")
        dialects = tuple(dict.fromkeys(found["dialects"].split("+")))
        return cls(transport=transport, dialects=dialects, ocpp_version=found["version"]), found["template"]


DEFAULT_SPEC = RouteSpec()


class Route(enum.Enum):
    """The role of a message on its route."""

    CALL = "call"  # upstream Calls (and anything else a gateway sends there)
    REPLY = "reply"  # upstream CallResults and CallErrors
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclasses.dataclass(frozen=True)
class RouteMatch:
    """Where a message came from: its role, its charge point (and action, if the address names it), its route."""

    route: Route
    charge_point_id: str
    action: str = ""
    spec: RouteSpec = DEFAULT_SPEC
