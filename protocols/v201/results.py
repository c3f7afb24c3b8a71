"""What an answered 2.0.1 command changes (filled in by issue 15's work)."""

from __future__ import annotations

from datetime import datetime

from chargers.models import Command


def commands_results_apply(*, commands: list[Command], now: datetime) -> None:
    """Apply the state changes answered commands imply (called in the results' transaction)."""
