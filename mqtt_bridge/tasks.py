"""Celery tasks of the transport: thin, they fetch nothing themselves and call processing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import shared_task

from backoffice import events, metrics

from . import processing
from .frames import Frame, Rejected, utcnow
from .mqtt import PublishError, publisher

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(*processing.RETRYABLE, PublishError),
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=None,
)
def handle_frames(items: list[dict[str, Any]]) -> None:
    """Handle a batch of inbound items from the bridge, in order, and publish the replies.

    Items are ``{"frame": ...}``, ``{"rejected": ...}`` or ``{"presence": ...}``. Each frame is
    applied in its own transaction and its reply published after that commit. A retried batch is
    safe: frames already applied are recognised as duplicates and get their stored reply again.
    """
    with metrics.batched(), events.batched():
        replies: list[Frame] = []
        for item in items:
            try:
                reply = _handle_item(item)
            except processing.RETRYABLE:
                raise
            except Exception:
                # A bug must not take the rest of the batch down with it: logged with the item, counted.
                logger.exception("could not handle %s", str(item)[:500])
                metrics.count("csms_frames_rejected_total", reason="internal_error")
                continue
            if reply is not None:
                replies.append(reply)
        publisher().publish(replies)
        # The replies first: a charger must have its BootNotification answered before our next Call.
        _commands_send([item["frame"]["charge_point_id"] for item in items if "frame" in item])
        now = utcnow()
        for item in items:
            frame = item.get("frame")
            if frame and frame.get("received_at") and frame.get("kind") == 2:
                received = datetime.fromisoformat(frame["received_at"])
                metrics.observe("csms_reply_latency_seconds", (now - received).total_seconds())


def _commands_send(charge_point_ids: list[str]) -> None:
    """Send the next queued command of the chargers that just spoke to us (so are online)."""
    from chargers.commands import chargers_with_queued_commands
    from chargers.tasks import command_send_next

    if not charge_point_ids:
        return
    for charge_point_pk in chargers_with_queued_commands(charge_point_ids=list(set(charge_point_ids))):
        try:
            command_send_next(charge_point_pk)
        except PublishError:
            logger.warning("could not send a queued command to charger %s; the housekeeping retries", charge_point_pk)


def _handle_item(item: dict[str, Any]) -> Frame | None:
    if "frame" in item:
        return processing.frame_handle(Frame.from_task(item["frame"]))
    if "rejected" in item:
        return processing.rejected_record(Rejected.from_task(item["rejected"]))
    presence = item["presence"]
    processing.presence_handle(
        charge_point_id=presence["charge_point_id"],
        connected=presence["connected"],
        at=datetime.fromisoformat(presence["at"]),
        reason=presence.get("reason", ""),
        topic=presence.get("topic", ""),
    )
    return None


@shared_task
def message_log_purge() -> int:
    """Periodic: apply CSMS_MESSAGE_LOG_RETENTION_DAYS."""
    return processing.message_log_purge()
