"""The smart charging card of a 2.0.1 station's page (registered by ``SmartchargingConfig.ready``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chargers.models import ChargePoint
from dashboard.panels import Panel

from .selectors import profile_summary, smart_charging


def panel_context(charge_point: ChargePoint) -> Mapping[str, Any]:
    state = smart_charging(charge_point=charge_point)
    return {
        "state": state,
        "evses": [
            {"evse_id": evse.evse_id, "profiles": [(p, profile_summary(p)) for p in evse.profiles]}
            for evse in state.evses
        ],
    }


PANEL = Panel(
    element="charger-smart-charging",
    template="smartcharging/_charger_smart_charging.html",
    context=panel_context,
    column="left",
    versions=frozenset({"2.0.1", "2.1"}),
)
