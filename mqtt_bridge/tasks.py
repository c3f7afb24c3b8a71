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

    Items are ``{"frame": ...}``, ``{"rejected": ...}`` or ``{"presence": ...}``. Runs of Calls
    are applied together (``processing.calls_handle``: a few statements per run, each charger's
    Calls in order), so are runs of results (``processing.results_handle``); rejects and presence
    events one by one, where they came. Replies are
    published after their commit. A retried batch is safe: Calls already applied are recognised
    as duplicates and get their stored reply again.
    """
    with metrics.batched(), events.batched():
        replies: list[Frame] = []
        for run in _runs(items):
            replies += _handle_safely(run)
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
    from chargers.tasks import commands_send_next

    if not charge_point_ids:
        return
    waiting = chargers_with_queued_commands(charge_point_ids=list(set(charge_point_ids)))
    if not waiting:
        return
    try:
        commands_send_next(waiting)
    except PublishError:
        logger.warning("could not send queued commands to %d chargers; the housekeeping retries", len(waiting))


def _is_call(item: dict[str, Any]) -> bool:
    return "frame" in item and item["frame"].get("kind") == 2


def _is_result(item: dict[str, Any]) -> bool:
    return "frame" in item and item["frame"].get("kind") in (3, 4)


def _runs(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive Calls form one run, consecutive results (CallResult, CallError) another; every
    other item is a run of its own."""
    runs: list[list[dict[str, Any]]] = []
    for item in items:
        if runs and any(same(item) and same(runs[-1][0]) for same in (_is_call, _is_result)):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _handle_safely(run: list[dict[str, Any]]) -> list[Frame]:
    """Handle a run; a bug must not take the rest of the batch down with it.

    A run that fails as a whole is handled again one item at a time, so that only the item at
    fault is lost (logged with the item, counted). Infrastructure errors retry the task.
    """
    try:
        return _handle_run(run)
    except processing.RETRYABLE:
        raise
    except Exception:
        if len(run) > 1:
            logger.exception("a run of %d frames failed; handling them one by one", len(run))
            return [reply for item in run for reply in _handle_safely([item])]
        logger.exception("could not handle %s", str(run[0])[:500])
        metrics.count("csms_frames_rejected_total", reason="internal_error")
        return []


def _handle_run(run: list[dict[str, Any]]) -> list[Frame]:
    if _is_call(run[0]):
        return processing.calls_handle([Frame.from_task(item["frame"]) for item in run])
    if _is_result(run[0]):
        processing.results_handle([Frame.from_task(item["frame"]) for item in run])
        return []
    reply = _handle_item(run[0])
    return [reply] if reply is not None else []


def _handle_item(item: dict[str, Any]) -> Frame | None:
    """A rejected message or a presence event (frames go in runs)."""
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
