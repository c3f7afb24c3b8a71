"""Reads of customer information requests (the charger page's panel)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from chargers.models import ChargePoint

from .models import CustomerInformationRequest

#: How many requests the panel shows (newest first); the API has them all.
LATEST = 10


def charger_customer_information(charge_point: ChargePoint) -> dict[str, Any]:
    """The station's latest customer information requests, with how many report parts each brought."""
    requests = (
        CustomerInformationRequest.objects.filter(charge_point=charge_point)
        .annotate(part_count=Count("parts"))
        .order_by("-created_at", "-request_id")[:LATEST]
    )
    return {"requests": list(requests)}
