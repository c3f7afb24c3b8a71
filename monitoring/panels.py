"""The charger page's monitoring panel (registered by ``MonitoringConfig.ready``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chargers.models import ChargePoint

from .selectors import station_monitoring


def charger_context(charge_point: ChargePoint) -> Mapping[str, Any]:
    """The panel's data: ``monitoring`` (``selectors.StationMonitoring``)."""
    return {"monitoring": station_monitoring(charge_point=charge_point)}
