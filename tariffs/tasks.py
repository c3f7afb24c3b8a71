"""Celery tasks of tariffs and cost. Thin: services do the work."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .services import session_costs_send


@shared_task
def session_costs_update() -> int:
    """Every CSMS_COST_UPDATE_SECONDS: the running total of active 2.0.1 sessions whose cost changed is sent
    to their stations with CostUpdated; returns how many were queued."""
    return len(session_costs_send(now=timezone.now()))
