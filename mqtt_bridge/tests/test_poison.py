"""Poison isolation: whatever one frame does to a worker, its batch-mates are answered and the
queue moves on; work a dead worker held comes back within the visibility timeout.

These tests hand tasks to a real Celery worker through Redis, exactly as the bridge does, and
read the replies on the real MQTT broker. A worker is held inside a task by a row lock on its
charger, taken by the test, so that it can be killed mid-task at a known point.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from conftest import GatewayClient, Stack, _database_url, unique_cid
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import DeadLetter, MessageLog
from mqtt_bridge.tasks import handle_frames

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def heartbeat(cid: str) -> tuple[str, dict[str, Any]]:
    """A Heartbeat Call as the bridge enqueues it: (message id, task item)."""
    message_id = uuid.uuid4().hex[:16]
    frame = Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id=message_id,
        action="Heartbeat",
        payload={},
        received_at=utcnow(),
    )
    return message_id, {"frame": frame.to_task()}


def wait_for(predicate: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


class ChargerLock:
    """Holds the row lock of a charger from a connection of its own, as a long transaction would."""

    def __init__(self) -> None:
        self.connection = psycopg.connect(_database_url())
        # Another connection looks on: within a transaction pg_stat_activity is a frozen snapshot.
        self.observer = psycopg.connect(_database_url(), autocommit=True)
        self.seen: set[int] = set()

    @contextmanager
    def held(self, cid: str) -> Iterator[ChargerLock]:
        with self.connection.transaction():
            row = self.connection.execute(
                "SELECT 1 FROM chargers_chargepoint WHERE charge_point_id = %s FOR UPDATE", [cid]
            ).fetchone()
            assert row is not None, f"charger {cid} does not exist"
            yield self

    def fresh_waiters(self) -> set[int]:
        """PostgreSQL backends waiting for a lock that ``new_waiter`` has not returned yet."""
        rows = self.observer.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchall()
        return {pid for (pid,) in rows} - self.seen

    def new_waiter(self) -> int:
        """The PostgreSQL backend that started waiting for the lock since the last call."""
        pid = min(wait_for(self.fresh_waiters, what="a worker waiting for the charger's lock"))
        self.seen.add(pid)
        return pid

    def terminate(self, backend_pid: int) -> None:
        """End the backend of a killed worker (PostgreSQL notices a dead client only when it writes)."""
        self.observer.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    def close(self) -> None:
        self.connection.close()
        self.observer.close()


@pytest.fixture
def charger_lock() -> Iterator[ChargerLock]:
    lock = ChargerLock()
    yield lock
    lock.close()


@pytest.fixture
def own_worker(stack: Stack, tmp_path: Path) -> Iterator[Stack]:
    """A worker of its own, on a queue of its own, that a test may kill (the session's stack lives on)."""
    queue = f"{stack.queue}-poison-{uuid.uuid4().hex[:6]}"
    worker = Stack(
        tmp_path,
        CSMS_CELERY_QUEUE=queue,
        CSMS_CELERY_VISIBILITY_TIMEOUT="2",
        CSMS_POISON_MAX_DELIVERIES="2",
    )
    yield worker
    worker.stop()


def booted(gateway: GatewayClient, cid: str) -> None:
    """The charger exists and is accepted (through the session's stack)."""
    reply = gateway.call(cid, "Heartbeat", {})
    assert reply["MessageTypeId"] == 3


def test_run_that_raises_is_quarantined_and_its_batch_mates_answered(stack: Stack, gateway: GatewayClient) -> None:
    good_cid, bad_cid = unique_cid("ok"), unique_cid("bad")
    good_id, good = heartbeat(good_cid)
    bad_id, bad = heartbeat(bad_cid)
    bad["frame"]["unknown_field"] = 1  # a task item no Frame can be made of: handling it raises
    gateway.listen(good_cid)
    gateway.listen(bad_cid)

    handle_frames.apply_async(args=([bad, good],), queue=stack.queue)

    assert gateway.emqx_reply(good_id)["MessageTypeId"] == 3
    error = gateway.emqx_reply(bad_id)
    assert (error["MessageTypeId"], error["ErrorCode"]) == (4, "InternalError")
    letter = DeadLetter.objects.get(charge_point_id=bad_cid)
    assert (letter.message_id, letter.reason, letter.answered) == (bad_id, "exception", True)
    assert '"unknown_field"' in letter.raw


def test_worker_killed_mid_batch_gets_it_back_after_the_visibility_timeout(
    stack: Stack, own_worker: Stack, gateway: GatewayClient, charger_lock: ChargerLock
) -> None:
    cid = unique_cid("kill")
    booted(gateway, cid)
    message_id, item = heartbeat(cid)
    own_worker.start_worker(concurrency=1)
    with charger_lock.held(cid):
        handle_frames.apply_async(args=([item],), queue=own_worker.queue)
        backend = charger_lock.new_waiter()
        assert own_worker.worker is not None
        os.killpg(own_worker.worker.pid, signal.SIGKILL)  # the worker and its pool, as a crash
        own_worker.worker.wait(timeout=10)
        charger_lock.terminate(backend)
    # Nothing acknowledged the task: a new worker takes it again once the visibility timeout passed.
    own_worker.start_worker(concurrency=1)
    reply = gateway.emqx_reply(message_id, timeout=30)
    assert reply["MessageTypeId"] == 3
    handled = MessageLog.objects.filter(charge_point_id=cid, message_id=message_id, direction="in")
    assert handled.count() == 1  # applied once


def test_frame_that_kills_its_worker_is_split_off_then_quarantined(
    stack: Stack, own_worker: Stack, gateway: GatewayClient, charger_lock: ChargerLock
) -> None:
    poison_cid, mate_cid = unique_cid("poison"), unique_cid("mate")
    booted(gateway, poison_cid)
    poison_id, poison = heartbeat(poison_cid)
    mate_id, mate = heartbeat(mate_cid)
    gateway.listen(mate_cid)
    own_worker.start_worker(concurrency=1)
    assert own_worker.worker is not None
    main = psutil.Process(own_worker.worker.pid)
    kills = 0
    with charger_lock.held(poison_cid):
        handle_frames.apply_async(args=([poison, mate],), queue=own_worker.queue)
        # Every time a pool process takes the poison frame it blocks on the lock, and is killed.
        while not DeadLetter.objects.filter(charge_point_id=poison_cid).exists():
            backend = charger_lock.new_waiter()
            for child in main.children():
                child.kill()
            charger_lock.terminate(backend)
            kills += 1
            assert kills <= 6, "the poison frame was never quarantined\n" + own_worker.logs()
            wait_for(
                lambda: DeadLetter.objects.filter(charge_point_id=poison_cid).exists() or charger_lock.fresh_waiters(),
                what="the next delivery",
            )
    error = gateway.emqx_reply(poison_id)
    assert (error["MessageTypeId"], error["ErrorCode"]) == (4, "InternalError")
    assert gateway.emqx_reply(mate_id)["MessageTypeId"] == 3
    letter = DeadLetter.objects.get(charge_point_id=poison_cid)
    assert (letter.reason, letter.deliveries) == ("worker_lost", 3)
    # Split once (the pair), then the poison frame alone: delivered twice, killed twice.
    assert kills == 3
    assert main.is_running() and own_worker.worker.poll() is None  # the same worker, still serving



def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Each frame a fuzz run found to stop or wedge the backoffice (issue 14), as a charger sends it.
POISON_FRAMES = {
    "depth-500": ('[2,"{id}","DataTransfer",{{"vendorId":"v","data":' + _nested(500) + "}}]", "FormationViolation"),
    "depth-1000": ('[2,"{id}","DataTransfer",{{"vendorId":"v","data":' + _nested(1000) + "}}]", "FormationViolation"),
    "depth-100000": (
        '{{"MessageTypeId":2,"UniqueId":"{id}","Action":"DataTransfer","Payload":{{"vendorId":"v","data":'
        + _nested(100_000)
        + "}}}}",
        "FormationViolation",
    ),
    "integer-1000-digits": (
        '[2,"{id}","DataTransfer",{{"vendorId":"v","data":"x","messageId":' + "9" * 1000 + "}}]",
        "PropertyConstraintViolation",
    ),
    "integer-100000-digits": ('[2,"{id}","MeterValues",{{"connectorId":' + "7" * 100_000 + "}}]", "FormationViolation"),
    "lone-surrogate": (
        '{{"MessageTypeId":2,"UniqueId":"{id}","Action":"Authorize","Payload":{{"idTag":"\\ud800"}}}}',
        "FormationViolation",
    ),
    "100-kb-readable-id": (
        '[2,"{id}","DataTransfer",{{"vendorId":"v","data":"' + "A" * 100_000 + '"}}]',
        "FormationViolation",
    ),
}


@pytest.mark.parametrize("name", list(POISON_FRAMES))
def test_poison_frame_is_answered_and_the_worker_serves_on(name: str, stack: Stack, gateway: GatewayClient) -> None:
    template, code = POISON_FRAMES[name]
    cid, other = unique_cid("poison"), unique_cid("next")
    message_id = uuid.uuid4().hex[:16]
    assert stack.worker is not None and stack.bridge is not None
    pool = {child.pid for child in psutil.Process(stack.worker.pid).children()}

    gateway.publish(cid, template.replace("{id}", message_id).replace("{{", "{").replace("}}", "}"))

    error = gateway.reply(message_id)
    # Answered in the dialect the Call came in: an OCPP-J array, or EMQX's envelope.
    kind, error_code = (error[0], error[2]) if isinstance(error, list) else (error["MessageTypeId"], error["ErrorCode"])
    assert (kind, error_code) == (4, code), error
    # The next Call of another charger is served, by the very same processes.
    assert gateway.call(other, "Heartbeat", {})["MessageTypeId"] == 3
    assert stack.worker.poll() is None and stack.bridge.poll() is None
    assert {child.pid for child in psutil.Process(stack.worker.pid).children()} == pool
    assert MessageLog.objects.filter(charge_point_id=cid, kind="invalid").count() == 1
