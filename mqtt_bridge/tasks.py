"""Celery tasks of the transport: thin, they fetch nothing themselves and call processing.

Poison isolation lives here. A batch whose worker died while handling it (the pool process
killed, the worker's main process gone) comes back to a worker: Redis gives it back at once
(``task_reject_on_worker_lost``) or after ``CSMS_CELERY_VISIBILITY_TIMEOUT``. Every delivery is
counted in Redis; a batch taken a second time is split in two new tasks, so the frame at fault
ends up alone within a few deliveries while its batch-mates are handled, and a frame whose task
was taken more than ``CSMS_POISON_MAX_DELIVERIES`` times is quarantined (a ``DeadLetter``) and its
Call answered with an InternalError, instead of killing workers forever. An exception that
escapes the handling of a batch is treated the same way, without waiting for a redelivery.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from backoffice import events, metrics
from chargers.commands import chargers_with_queued_commands

from . import processing
from .frames import Frame, Rejected, utcnow
from .models import DeadLetter
from .outbound import PublishError, publish
from .sending import command_send_next, commands_send_next

logger = logging.getLogger(__name__)

# Long enough to outlive any redelivery of the task (visibility timeout, a worker's restart).
DELIVERY_KEY_TTL = 3600

# Chargers whose next command goes out in one transaction and one publish.
SEND_CHUNK = 200


@shared_task(
    bind=True,
    autoretry_for=(*processing.RETRYABLE, PublishError),
    retry_backoff=True,
    # Below the visibility timeout: a retry waits in the worker, unacknowledged, for its countdown;
    # a longer wait would have Redis hand the same task to a second worker meanwhile.
    retry_backoff_max=10,
    max_retries=None,
)
def handle_frames(self: Task, items: list[dict[str, Any]]) -> None:
    """Handle a batch of inbound items from the bridge, in order, and publish the replies.

    Items are ``{"frame": ...}``, ``{"rejected": ...}`` or ``{"presence": ...}``. Runs of Calls
    are applied together (``processing.calls_handle``: a few statements per run, each charger's
    Calls in order), so are runs of results (``processing.results_handle``); rejects and presence
    events one by one, where they came. Replies are
    published after their commit. A retried batch is safe: Calls already applied are recognised
    as duplicates and get their stored reply again. See the module docstring for poison frames.
    """
    key = _delivery_key(self)
    deliveries = _delivery_count(key)
    if deliveries > 1 and len(items) > 1:
        logger.warning(
            "a batch of %d frames was taken %d times without finishing (its worker died); splitting it",
            len(items),
            deliveries,
        )
        _split(items)
    elif deliveries > settings.CSMS_POISON_MAX_DELIVERIES:
        _quarantine(
            items[0],
            reason=DeadLetter.Reason.WORKER_LOST,
            description=f"its worker died on each of {deliveries - 1} deliveries",
            deliveries=deliveries,
        )
    else:
        try:
            _handle(items)
        except (*processing.RETRYABLE, PublishError):
            raise
        except Exception as exc:
            # Our bug, not the charger's: the traceback is wanted. The batch-mates must not share its fate.
            logger.exception("a batch of %d frames failed outside its runs", len(items))
            if len(items) > 1:
                _split(items)
            else:
                _quarantine(
                    items[0],
                    reason=DeadLetter.Reason.EXCEPTION,
                    description=f"{type(exc).__name__}: {exc}",
                    deliveries=deliveries,
                )
    _delivery_done(key)


def _handle(items: list[dict[str, Any]]) -> None:
    with metrics.batched(), events.batched():
        replies: list[Frame] = []
        for run in _runs(items):
            replies += _handle_safely(run)
        publish(replies)  # each reply on the transport its Call came in on
        # The replies first: a charger must have its BootNotification answered before our next Call.
        _commands_send([item["frame"]["charge_point_id"] for item in items if "frame" in item])
        now = utcnow()
        for item in items:
            frame = item.get("frame")
            if frame and frame.get("received_at") and frame.get("kind") == 2:
                received = datetime.fromisoformat(frame["received_at"])
                transport = str(frame.get("transport") or "unknown")
                metrics.observe("csms_reply_latency_seconds", (now - received).total_seconds(), transport=transport)


def _delivery_key(task: Task) -> str | None:
    """One counter per delivery of this task message; a retry (same id, next attempt) has its own."""
    if not task.request.id or task.request.called_directly:
        return None
    return f"csms:deliveries:{task.request.id}:{task.request.retries or 0}"


def _delivery_count(key: str | None) -> int:
    """How many times this task message was taken by a worker, this time included."""
    if key is None:
        return 1
    try:
        pipe = metrics.get_redis(settings.CELERY_BROKER_URL).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, DELIVERY_KEY_TTL)
        count, _ = pipe.execute()
    except Exception as exc:  # the broker itself delivered the task: a passing error, not a reason to stop
        logger.warning("could not count the deliveries of a task (%s); handling it as a first", exc)
        return 1
    return int(count)


def _delivery_done(key: str | None) -> None:
    if key is None:
        return
    try:
        metrics.get_redis(settings.CELERY_BROKER_URL).delete(key)
    except Exception:  # the key expires by itself
        pass


def _split(items: list[dict[str, Any]]) -> None:
    """Hand the two halves of a batch to the workers as new tasks (each with its own count)."""
    middle = len(items) // 2
    for half in (items[:middle], items[middle:]):
        handle_frames.apply_async(args=(half,))


def _quarantine(item: dict[str, Any], *, reason: str, description: str, deliveries: int) -> None:
    """Keep the item as a dead letter and answer its Call, if it was one."""
    reply = processing.dead_letter_record(item=item, reason=reason, description=description, deliveries=deliveries)
    if reply is not None:
        publish([reply])


def _commands_send(charge_point_ids: list[str]) -> None:
    """Send the next queued command of the chargers that just spoke to us (so are online)."""
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


def _is_send(item: dict[str, Any]) -> bool:
    return "frame" in item and item["frame"].get("kind") == 6


def _is_result_error(item: dict[str, Any]) -> bool:
    return "frame" in item and item["frame"].get("kind") == 5


def _runs(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive Calls form one run, consecutive results (CallResult, CallError) another, consecutive
    SENDs and CALLRESULTERRORs (OCPP 2.1) one each; every other item is a run of its own."""
    runs: list[list[dict[str, Any]]] = []
    for item in items:
        kinds = (_is_call, _is_result, _is_send, _is_result_error)
        if runs and any(same(item) and same(runs[-1][0]) for same in kinds):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _handle_safely(run: list[dict[str, Any]]) -> list[Frame]:
    """Handle a run; a bug must not take the rest of the batch down with it.

    A run that fails as a whole is handled again one item at a time, so that only the item at
    fault is set aside: quarantined as a dead letter, its Call answered with an InternalError.
    Infrastructure errors retry the task.
    """
    try:
        return _handle_run(run)
    except processing.RETRYABLE:
        raise
    except Exception as exc:
        if len(run) > 1:
            logger.exception("a run of %d frames failed; handling them one by one", len(run))
            return [reply for item in run for reply in _handle_safely([item])]
        logger.exception("could not handle %s", str(run[0])[:500])
        reply = processing.dead_letter_record(
            item=run[0], reason=DeadLetter.Reason.EXCEPTION, description=f"{type(exc).__name__}: {exc}", deliveries=1
        )
        return [reply] if reply is not None else []


def _handle_run(run: list[dict[str, Any]]) -> list[Frame]:
    if _is_call(run[0]):
        return processing.calls_handle([Frame.from_task(item["frame"]) for item in run])
    if _is_result(run[0]):
        processing.results_handle([Frame.from_task(item["frame"]) for item in run])
        return []
    if _is_send(run[0]):  # never answered
        processing.sends_handle([Frame.from_task(item["frame"]) for item in run])
        return []
    if _is_result_error(run[0]):  # never answered
        processing.result_errors_record([Frame.from_task(item["frame"]) for item in run])
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
        transport=presence.get("transport", ""),
    )
    return None


@shared_task
def message_log_purge() -> int:
    """Periodic: apply CSMS_MESSAGE_LOG_RETENTION_DAYS."""
    return processing.message_log_purge()


@shared_task(autoretry_for=(PublishError,), retry_backoff=True, retry_backoff_max=30, max_retries=20)
def commands_dispatch(charge_point_pk: int) -> bool:
    """Send the next queued command of one charger (enqueued by name by ``chargers.commands`` after a command)."""
    return command_send_next(charge_point_pk)


@shared_task
def commands_housekeeping() -> dict[str, int]:
    """Periodic: send what waits for a free charger (a timeout freed it, or a publish failed)."""
    sent = 0
    waiting = chargers_with_queued_commands()
    for start in range(0, len(waiting), SEND_CHUNK):
        try:
            sent += commands_send_next(waiting[start : start + SEND_CHUNK])
        except PublishError:
            logger.warning("could not send queued commands; next round")
            break
    return {"sent": sent}
