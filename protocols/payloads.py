"""What every version's handlers read out of a payload the same way: timestamps, and ours written back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .validation import OcppError


def timestamp(payload: dict[str, Any], field: str, path: str = "") -> datetime:
    """``payload[field]`` as an aware datetime; PropertyConstraintViolation naming ``path + field`` otherwise.

    The schemas do not check formats (neither fastjsonschema's fast path nor jsonschema here), so a
    date-time that is not one is refused here, before anything is written.
    """
    raw = payload.get(field)
    name = f"{path}{field}"
    try:
        value = datetime.fromisoformat(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        description = f"field '{name}': {raw!r} is not an ISO 8601 date-time"
        raise OcppError("PropertyConstraintViolation", description[:255], {"field": name}) from None
    # A charger that forgets the offset means UTC (OCPP requires UTC times on the wire).
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """A time as we write it on the wire: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
