"""Celery tasks of the fleet: sending commands, their timeouts, presence. Thin: services do the work."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from mqtt_bridge.mqtt import PublishError, publisher

from .commands import chargers_with_queued_commands, commands_expire, commands_next_send, commands_unsend
from .services import presence_watchdog_run

logger = logging.getLogger(__name__)

# Chargers whose next command goes out in one transaction and one publish.
SEND_CHUNK = 200


def command_send_next(charge_point_pk: int) -> bool:
    """Send the charger's next queued command if it is free; True when one was sent."""
    return commands_send_next([charge_point_pk]) == 1


def commands_send_next(charge_point_pks: list[int]) -> int:
    """Send the next queued command of each of these chargers that is free; returns how many went out.

    If the broker does not take them they are queued again (and PublishError raised).
    """
    frames = commands_next_send(charge_point_pks=charge_point_pks)
    if not frames:
        return 0
    try:
        publisher().publish(frames)
    except PublishError:
        commands_unsend(message_ids=[frame.message_id for frame in frames])
        raise
    from mqtt_bridge.processing import command_calls_log

    command_calls_log(frames)
    return len(frames)


@shared_task(autoretry_for=(PublishError,), retry_backoff=True, retry_backoff_max=30, max_retries=20)
def commands_dispatch(charge_point_pk: int) -> bool:
    """Send the next queued command of one charger (after an enqueue)."""
    return command_send_next(charge_point_pk)


@shared_task
def commands_housekeeping() -> dict[str, int]:
    """Periodic: time out unanswered commands, expire old queued ones, send what waits for a free charger."""
    timed_out, expired = commands_expire(now=timezone.now())
    sent = 0
    waiting = chargers_with_queued_commands()
    for start in range(0, len(waiting), SEND_CHUNK):
        try:
            sent += commands_send_next(waiting[start : start + SEND_CHUNK])
        except PublishError:
            logger.warning("could not send queued commands; next round")
            break
    return {"timed_out": timed_out, "expired": expired, "sent": sent}


@shared_task
def presence_watchdog() -> int:
    """Periodic: mark offline the chargers that went silent (see presence_watchdog_run)."""
    return presence_watchdog_run()
