"""Celery tasks of the fleet: sending commands, their timeouts, presence. Thin: services do the work."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from mqtt_bridge.mqtt import PublishError, publisher

from .commands import chargers_with_queued_commands, command_next_send, command_unsend, commands_expire
from .services import presence_watchdog_run

logger = logging.getLogger(__name__)


def command_send_next(charge_point_pk: int) -> bool:
    """Send the charger's next queued command if it is free; True when one was sent."""
    frame = command_next_send(charge_point_pk=charge_point_pk)
    if frame is None:
        return False
    try:
        publisher().publish([frame])
    except PublishError:
        command_unsend(message_id=frame.message_id)
        raise
    from mqtt_bridge.processing import command_call_log

    command_call_log(frame)
    return True


@shared_task(autoretry_for=(PublishError,), retry_backoff=True, retry_backoff_max=30, max_retries=20)
def commands_dispatch(charge_point_pk: int) -> bool:
    """Send the next queued command of one charger (after an enqueue)."""
    return command_send_next(charge_point_pk)


@shared_task
def commands_housekeeping() -> dict[str, int]:
    """Periodic: time out unanswered commands, expire old queued ones, send what waits for a free charger."""
    timed_out, expired = commands_expire(now=timezone.now())
    sent = 0
    for charge_point_pk in chargers_with_queued_commands():
        try:
            sent += command_send_next(charge_point_pk)
        except PublishError:
            logger.warning("could not send a queued command to charger %s; next round", charge_point_pk)
    return {"timed_out": timed_out, "expired": expired, "sent": sent}


@shared_task
def presence_watchdog() -> int:
    """Periodic: mark offline the chargers that went silent (see presence_watchdog_run)."""
    return presence_watchdog_run()
