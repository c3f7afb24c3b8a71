"""Celery tasks of the fleet: the domain's periodic work. Thin: services do the work.

Sending commands is the transport's (``mqtt_bridge.tasks``): the domain only queues them.
"""

from __future__ import annotations

from celery import current_app, shared_task
from django.utils import timezone

from .commands import commands_expire
from .services import presence_watchdog_run

# The transport's task that sends what waits for a free charger (by name: the domain imports no transport).
SEND_WAITING_TASK = "mqtt_bridge.tasks.commands_housekeeping"


@shared_task
def commands_timeouts() -> dict[str, int]:
    """Periodic: time out unanswered commands and expire old queued ones (and past reservations).

    A timeout frees its charger for the next queued command: the transport is asked to send at once.
    """
    timed_out, expired = commands_expire(now=timezone.now())
    if timed_out:
        current_app.send_task(SEND_WAITING_TASK)
    return {"timed_out": timed_out, "expired": expired}


@shared_task
def presence_watchdog() -> int:
    """Periodic: mark offline the chargers that went silent (see presence_watchdog_run)."""
    return presence_watchdog_run()
