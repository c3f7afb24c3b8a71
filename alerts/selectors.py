"""Reads of operator alerts, shared by the API and the dashboard panels."""

from __future__ import annotations

from django.db.models import QuerySet

from chargers.models import ChargePoint

from .models import Alert

#: How many alerts a dashboard panel lists.
PANEL_LIMIT = 20


def alerts_open(*, charge_point: ChargePoint | None = None) -> QuerySet[Alert]:
    """Unacknowledged alerts, newest occurrence first (of one charger, or of the whole fleet)."""
    alerts = Alert.objects.filter(acknowledged_at__isnull=True).select_related("charge_point")
    if charge_point is not None:
        alerts = alerts.filter(charge_point=charge_point)
    return alerts.order_by("-last_raised_at", "-id")
