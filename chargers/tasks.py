"""Celery tasks of the fleet."""

from __future__ import annotations

from celery import shared_task

from .services import presence_watchdog_run


@shared_task
def presence_watchdog() -> int:
    """Periodic: mark offline the chargers that went silent (see presence_watchdog_run)."""
    return presence_watchdog_run()
