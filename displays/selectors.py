"""Reads of display messages (the charger page's panel)."""

from __future__ import annotations

from typing import Any

from chargers.models import ChargePoint

from .models import DisplayMessage


def charger_display_messages(charge_point: ChargePoint) -> dict[str, Any]:
    """The station's display messages: what it shows or was asked to show first, then the rest."""
    rows = list(DisplayMessage.objects.filter(charge_point=charge_point).order_by("message_id"))
    live = (DisplayMessage.Status.REQUESTED, DisplayMessage.Status.ACCEPTED, DisplayMessage.Status.REPORTED)
    return {"messages": [row for row in rows if row.status in live] + [row for row in rows if row.status not in live]}
