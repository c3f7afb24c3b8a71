"""The dashboard panels' data: the fleet's open alerts, a charger's open alerts (one query each: the fleet page
keeps a bounded number of queries whatever the fleet's size)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chargers.models import ChargePoint

from .selectors import PANEL_LIMIT, alerts_open


def _context(charge_point: ChargePoint | None) -> Mapping[str, Any]:
    alerts = list(alerts_open(charge_point=charge_point)[: PANEL_LIMIT + 1])
    return {"alerts": alerts[:PANEL_LIMIT], "more": len(alerts) > PANEL_LIMIT}


def fleet_context() -> Mapping[str, Any]:
    return _context(None)


def charger_context(charge_point: ChargePoint) -> Mapping[str, Any]:
    return _context(charge_point)
