"""The dashboard panels' data: the fleet's open alerts, a charger's open alerts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chargers.models import ChargePoint

from .selectors import PANEL_LIMIT, alerts_open


def fleet_context() -> Mapping[str, Any]:
    alerts = alerts_open()
    return {"alerts": list(alerts[:PANEL_LIMIT]), "total": alerts.count()}


def charger_context(charge_point: ChargePoint) -> Mapping[str, Any]:
    alerts = alerts_open(charge_point=charge_point)
    return {"alerts": list(alerts[:PANEL_LIMIT]), "total": alerts.count()}
