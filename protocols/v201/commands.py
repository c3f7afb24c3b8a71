"""The 2.0.1 command catalogue: whether a CSMS-initiated Call can be queued, and what queuing it means."""

from __future__ import annotations

from typing import Any

from chargers.commands import CommandError
from chargers.models import ChargePoint, Command

from ..validation import Kind, OcppError, validate

VERSION = "2.0.1"


def command_check(*, charge_point: ChargePoint, action: str, payload: dict[str, Any]) -> None:
    """Raise CommandError (message for people, errors per field) when this 2.0.1 command cannot be queued."""
    if not isinstance(payload, dict):
        raise CommandError("the payload must be a JSON object", {"payload": ["must be a JSON object"]})
    try:
        validate(Kind.CALL, action, payload, VERSION)
    except OcppError as exc:
        field = str(exc.details.get("field", "payload"))
        raise CommandError(f"invalid {action} request: {exc.description}", {field: [exc.description]}) from None


def command_queued(*, command: Command) -> None:
    """What a queued 2.0.1 command means before its answer (nothing yet)."""
