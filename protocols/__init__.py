"""The OCPP versions: one package per version (``v16``, ``v201``, ``v21``), one registry.

The processing picks a frame's package with ``for_version(frame.ocpp_version)``, the way healthchecks
keeps its TRANSPORTS: handlers, bulk handlers, result effects and action lists all come from there.
The domain never imports this package; each version also implements the domain's
``chargers.ports.ProtocolPort`` and registers it there (``protocols.apps``).

This module stays light (no models): Django imports it while it populates the apps, before the
models exist; the versions are registered in ``ProtocolsConfig.ready``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chargers.models import ChargePoint

    from .validation import OcppError

#: One Call's handler: (charger, schema-valid payload, now) -> the CallResult's payload.
Handler = Callable[["ChargePoint", dict[str, Any], datetime], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class BulkHandler:
    """An action handled for many chargers at once (where the volume is).

    ``parse`` checks one payload in Python (raising OcppError) and returns what ``apply`` takes;
    ``apply`` writes a whole batch in a few statements and returns one reply payload per item.
    The one-message handler of the action in ``handlers`` is ``apply`` of a single item.
    """

    parse: Callable[[ChargePoint, dict[str, Any]], Any]
    apply: Callable[[list[Any], datetime], list[dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """What the processing needs of one OCPP version."""

    version: str
    #: Call handlers by action, one frame at a time.
    handlers: Mapping[str, Handler]
    #: The actions applied a wave at a time (a subset of ``handlers``).
    bulk_handlers: Mapping[str, BulkHandler]
    #: Actions a charger may send, and actions only the CSMS sends (a charger sending one gets NotSupported).
    charger_actions: frozenset[str]
    csms_actions: frozenset[str]
    #: The effects of answered commands, applied in the results' transaction.
    results_apply: Callable[..., None]
    #: The gate before any handler: an OcppError to answer instead of applying ``action`` for this charger
    #: now (2.0.1: a station that is not Accepted may send nothing but BootNotification), else None.
    admit: Callable[[ChargePoint, str], OcppError | None] | None = None
    #: SEND handlers by action (2.1's message type 6): applied like Calls, never answered (what they
    #: return is dropped). A SEND of any other action is logged and counted, not answered.
    send_handlers: Mapping[str, Handler] = dataclasses.field(default_factory=dict)
    #: The message types this version's framing has besides Call, CallResult and CallError (2.1: 5 and 6).
    message_types: frozenset[int] = frozenset({2, 3, 4})

    def known(self, action: str) -> bool:
        """Whether ``action`` exists in this version (supported or not)."""
        return action in self.charger_actions or action in self.csms_actions


PROTOCOLS: dict[str, Protocol] = {}


def register(protocol: Protocol) -> None:
    """Make a version known to the processing (``protocols.apps`` does it for every package)."""
    PROTOCOLS[protocol.version] = protocol


def for_version(version: str) -> Protocol | None:
    """The package of ``version``, or None when this CSMS speaks no such version."""
    return PROTOCOLS.get(version)


__all__ = ["PROTOCOLS", "BulkHandler", "Handler", "Protocol", "for_version", "register"]
