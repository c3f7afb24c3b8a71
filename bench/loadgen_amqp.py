"""The load generator playing the RabbitMQ Web OCPP plugin: virtual chargers over AMQP.

The same chargers, scripts and accounting as ``bench.loadgen`` (one Call outstanding per charger,
lost after 30 s, errors and invalid replies counted); only the wire differs. Each Call goes out as
the plugin publishes it (``bench.amqp``: the raw OCPP-J array, routing key
``ocpp16.<Action>.req``, ``reply_to`` = charger id) to the run's exchange; replies come from ONE
queue bound with ``*`` and are dispatched by their routing key, the charger id.

Two connections: py-amqp's are not thread-safe. One publishes (under a lock: Calls go out from the
consumer's thread, the main thread and the watchdog); the other is owned by a thread that only
consumes, with no acknowledgements (the queue is exclusive and lives as long as the generator).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import amqp as pyamqp

from bench import amqp as bench_amqp
from bench.loadgen import REPLY_TIMEOUT, Charger, LoadGenerator, closed_loop, probe_with
from bench.versions import V16, Version

DRAIN_TIMEOUT = 0.2


class AmqpLoadGenerator(LoadGenerator):
    """Virtual chargers behind the plugin, on the exchange ``exchange``. One instance per scenario."""

    def __init__(
        self,
        url: str,
        prefix: str,
        exchange: str,
        timeout: float = REPLY_TIMEOUT,
        version: Version = V16,
    ) -> None:
        super().__init__(url, prefix, timeout=timeout, version=version)
        self.exchange = exchange
        self.reply_queue = ""
        self._publish_lock = threading.Lock()
        self._publisher: Any = None
        self._publish_channel: Any = None
        self._consumer: Any = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    # --- connection -----------------------------------------------------------------------------

    def start(self, count: int) -> None:
        """Create the chargers, bind the reply queue, start consuming and the lost-reply watchdog."""
        for index in range(count):
            cid = f"{self.prefix}{index:05d}"
            self.chargers[cid] = Charger(self.version.script(cid, index))
        self._publisher = bench_amqp.connect(self.url)
        self._publish_channel = self._publisher.channel()
        self._thread = threading.Thread(target=self._consume, name="bench-amqp-replies", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0) or self._failure is not None:
            self.stop()
            raise RuntimeError(f"AMQP reply queue not ready: {self._failure}")
        threading.Thread(target=self._watchdog, name="bench-watchdog", daemon=True).start()

    def _consume(self) -> None:
        try:
            self._consumer = bench_amqp.connect(self.url)
            channel = self._consumer.channel()
            self.reply_queue, _, _ = channel.queue_declare("", exclusive=True, auto_delete=True)
            channel.queue_bind(self.reply_queue, exchange=self.exchange, routing_key=bench_amqp.REPLY_BINDING)
            channel.basic_consume(self.reply_queue, callback=self.on_delivery, no_ack=True)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stopping.is_set():
            try:
                self._consumer.connection.drain_events(timeout=DRAIN_TIMEOUT)
            except TimeoutError:
                continue
            except Exception as exc:  # the broker went away: the outstanding Calls become lost
                self._failure = exc
                return

    def stop(self) -> None:
        """Stop consuming (the reply queue goes with its connection) and disconnect."""
        self._stop_watchdog.set()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5.0)
        for connection in (self._consumer, self._publisher):
            if connection is not None:
                try:
                    connection.release()
                except Exception:  # closing what may already be broken
                    pass

    # --- sending --------------------------------------------------------------------------------

    def _call_message(self, cid: str, frame: dict[str, Any]) -> tuple[Any, ...]:
        return cid, bench_amqp.from_envelope(frame)

    def _publish(self, topic: str, data: Any) -> None:
        self.publish_frame(topic, data)

    def publish_frame(self, cid: str, frame: list[Any], action_of_call: str = "") -> None:
        """Publish a charger's frame as the plugin does (a failure is counted)."""
        message = pyamqp.Message(bench_amqp.encode(frame), **bench_amqp.properties(frame, cid))
        key = bench_amqp.routing_key(frame, self.version.name, action_of_call)
        try:
            with self._publish_lock:
                self._publish_channel.basic_publish(message, exchange=self.exchange, routing_key=key)
        except Exception:
            with self.lock:
                self.stats.publish_failures += 1

    def _send_reply(self, cid: str, reply: dict[str, Any]) -> None:
        self.publish_frame(cid, bench_amqp.from_envelope(reply))

    # --- receiving ------------------------------------------------------------------------------

    def on_delivery(self, message: pyamqp.Message) -> None:
        """A downlink: its routing key names the charger, its body is an OCPP-J array."""
        cid = str(message.delivery_info.get("routing_key") or "")
        try:
            frame = bench_amqp.as_envelope(json.loads(message.body))
        except ValueError:
            frame = None
        if cid not in self.chargers or frame is None:
            with self.lock:
                self.stats.unmatched += 1
            return
        if frame["MessageTypeId"] == 2:
            self._answer_server_call(cid, frame)
            return
        if self._take_reply(cid, frame) and self.auto_next:
            self.send_next(cid)


def run_closed(
    url: str,
    prefix: str,
    chargers: int,
    duration: float,
    exchange: str,
    version: Version = V16,
    scenario: str = "closed-amqp",
    on_window: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The closed loop of ``bench.loadgen.run_closed`` (same script, same window), over AMQP."""
    gen = AmqpLoadGenerator(url, prefix, exchange, version=version)
    result = closed_loop(gen, chargers, duration, scenario, on_window)
    return {**result, "transport": "amqp"}


def probe(url: str, prefix: str, exchange: str, timeout: float) -> bool:
    """Whether one charger's BootNotification over AMQP gets any reply within ``timeout`` seconds."""
    return probe_with(AmqpLoadGenerator(url, prefix, exchange, timeout=timeout))
