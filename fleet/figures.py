"""The one rounding rule of every figure shown about a session, as plain arithmetic.

Kept apart from ``fleet.selectors`` (which queries the models) so ``transactions.models`` can use
the same rule for its ``energy_wh`` without an import cycle: this module imports no model.

The rule: energy in whole Wh (a register reading is rounded once, before the meter start is taken
off), power in whole W, durations in whole seconds (rounded down, never negative). The dashboard
divides these for kWh/kW; it never rounds a figure the API shows differently.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def to_wh(value: float | None, unit: str) -> float | None:
    """A register reading in Wh (OCPP allows Wh or kWh)."""
    if value is None:
        return None
    return value * 1000 if unit == "kWh" else value


def to_w(value: float | None, unit: str) -> float | None:
    """A power reading in W (OCPP allows W or kW)."""
    if value is None:
        return None
    return value * 1000 if unit == "kW" else value


def energy_wh(*, meter_start: int | None, meter_stop: int | None, latest_register_wh: float | None) -> int | None:
    """Energy delivered: final from meterStop once stopped, else from the newest register reading, else None.

    None too without a meter start (a 2.0.1 session whose events carried no register reading yet).
    """
    if meter_start is None:
        return None
    if meter_stop is not None:
        return meter_stop - meter_start
    if latest_register_wh is None:
        return None
    # Python's round (half to even), as the API always did: 12 345.5 Wh and 12 346.5 Wh both end even.
    return round(latest_register_wh) - meter_start


def power_w(watts: float | None) -> int | None:
    """A power figure in whole W."""
    return None if watts is None else round(watts)


def duration(*, started_at: datetime, stopped_at: datetime | None, now: datetime) -> timedelta:
    """Start to stop (or to ``now`` while open), in whole seconds, never negative."""
    seconds = int(((stopped_at or now) - started_at).total_seconds())
    return timedelta(seconds=max(0, seconds))
