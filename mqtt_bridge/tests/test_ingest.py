"""The ingest core, fed by a consumer that stands for a transport: batches, and acks only after enqueue.

The Celery broker is the real Redis; "Redis down" is the same app pointed at a port where nothing
listens, then back (the producer pool is dropped each time so the next publish really reconnects).
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

import pytest

from backoffice.celery import app
from conftest import Stack
from mqtt_bridge.ingest import Ingest
from mqtt_bridge.models import MessageLog
from mqtt_bridge.routes import Route, RouteMatch, RouteSpec
from mqtt_bridge.transports import Token


class FakeConsumer:
    """A transport's consumer as the core sees it: it receives, and records what the core acknowledges."""

    name = "fake"

    def __init__(self) -> None:
        self.acks: queue.Queue[list[Token]] = queue.Queue()
        self.ingest: Ingest | None = None

    def start(self, ingest: Ingest) -> None:
        self.ingest = ingest

    def deliver(self, token: Token, payload: bytes, match: RouteMatch | None) -> None:
        assert self.ingest is not None
        self.ingest.receive(match=match, source=f"fake/{token}", payload=payload, ack=self.ack, token=token)

    def ack(self, tokens: Sequence[Token]) -> None:
        self.acks.put(list(tokens))

    def wait_connected(self, timeout: float) -> bool:
        return True

    def stop(self) -> None:
        pass


def _broker(url: str) -> None:
    app.conf.update(broker_url=url)
    # Celery caches its connection and producer pools: drop them so the next publish dials ``url``.
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def redis_down() -> Iterator[Callable[[], None]]:
    """The Celery broker unreachable until the test calls what it gets (and again reachable after it)."""
    good = app.conf.broker_url
    _broker("redis://127.0.0.1:1/0")
    yield lambda: _broker(good)
    _broker(good)


# Unknown to every route: each travels as a rejection, harmless if a test worker picks the task up.
def _payload(n: int) -> bytes:
    return b'{"not": "ocpp", "n": %d}' % n


def test_a_batch_is_acknowledged_once_after_its_task_is_enqueued() -> None:
    consumer = FakeConsumer()
    ingest = Ingest(batch_size=100)
    consumer.start(ingest)
    for token in range(5):  # all waiting before the dispatcher starts: one batch
        consumer.deliver(token, _payload(token), None)
    ingest.start()
    try:
        assert consumer.acks.get(timeout=15) == [0, 1, 2, 3, 4]
    finally:
        ingest.stop()
    assert consumer.acks.empty()


def test_nothing_is_acknowledged_while_the_celery_broker_is_down(
    redis_down: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    consumer = FakeConsumer()
    ingest = Ingest(batch_size=100)
    consumer.start(ingest)
    caplog.set_level(logging.ERROR, logger="mqtt_bridge.ingest")
    match = RouteMatch(Route.CALL, "CP-DOWN", spec=RouteSpec())
    consumer.deliver(("mid", 7), b'[2, "m1", "Heartbeat", {}]', match)
    ingest.start()
    try:
        failures = 0
        while failures < 2:  # two refused enqueues, and still no ack
            with pytest.raises(queue.Empty):
                consumer.acks.get(timeout=1)
            failures = sum("could not enqueue" in r.getMessage() for r in caplog.records)
        redis_down()  # Redis is back: the same batch goes out, and only now is it acknowledged
        assert consumer.acks.get(timeout=60) == [("mid", 7)]
    finally:
        ingest.stop()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_message_the_consumer_cannot_route_is_logged_by_a_worker_and_acknowledged(stack: Stack) -> None:
    # What the AMQP consumer does with a delivery that has no reply_to: refuse it through the core.
    consumer = FakeConsumer()
    ingest = Ingest(batch_size=100)
    consumer.start(ingest)
    source = f"amq.topic/ocpp16.Heartbeat.req/{uuid.uuid4().hex[:8]}"
    assert consumer.ingest is not None
    consumer.ingest.refuse(
        reason="no_reply_to",
        description="delivery without reply_to: no charger to answer",
        source=source,
        payload=b'[2, "n1", "Heartbeat", {}]',
        ack=consumer.ack,
        token="delivery-1",
    )
    ingest.start()
    try:
        assert consumer.acks.get(timeout=15) == ["delivery-1"]
    finally:
        ingest.stop()
    deadline = time.monotonic() + 15
    while not MessageLog.objects.filter(topic=source, error_code="no_reply_to").exists():
        assert time.monotonic() < deadline, "the refusal never reached the message log"
        time.sleep(0.1)
