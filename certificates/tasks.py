"""Celery tasks of the CSMS CA. Thin: services do the work."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .services import certificates_renew_due


@shared_task
def certificates_renew() -> int:
    """Daily: chargers whose certificate ends within CSMS_CA_RENEW_BEFORE_DAYS are asked for a new CSR
    (1.6 ExtendedTriggerMessage, 2.0.1 TriggerMessage SignChargingStationCertificate); returns how many."""
    return len(certificates_renew_due(now=timezone.now()))
