"""The bare responder over AMQP: the ceiling of the RabbitMQ Web OCPP plugin's path.

What the bridge does on the wire, and nothing else: one queue (``--queue``) bound to the run's
exchange with ``<prefix>.#`` per OCPP version, as the bridge binds ``CSMS_AMQP_QUEUE``, consumed
with the bridge's prefetch and manual acknowledgements; each Call is parsed and answered at once
with a schema-valid CallResult of its version (``bench.versions``' ``csms_result``, as the MQTT
bare responder), published to the exchange with routing key = ``reply_to`` in confirm mode (the
confirms are not awaited: the MQTT responder does not await its PUBACKs either), then acknowledged.
No database, no Celery. The queue is exclusive: it goes when the responder does.

Deliveries are answered after ``drain_events`` returns, never inside its callback: py-amqp's
``basic_publish`` reads the connection itself (for a ``connection.blocked``), which delivers the next
message into the callback again, and a prefetch of hundreds overflowed the stack.

Run it as ``python -m bench.responder_amqp --url amqp://... --exchange bench-<run> --queue Q``; it
prints the number of frames it answered when stopped (SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import deque
from typing import Any

import amqp as pyamqp

from bench import amqp as bench_amqp
from bench.versions import VERSIONS, Version

PREFETCH = 400
DRAIN_TIMEOUT = 0.2


class AmqpResponder:
    """Answers every Call of the plugin's routing keys with a CallResult of the key's version."""

    def __init__(self, exchange: str, versions: dict[str, Version] | None = None) -> None:
        self.exchange = exchange
        versions = versions if versions is not None else VERSIONS
        self.by_prefix = {bench_amqp.PREFIXES[name]: version for name, version in versions.items()}
        self.answered = 0
        self.ignored = 0
        self.channel: Any = None
        self.inbox: deque[pyamqp.Message] = deque()

    @property
    def binding_keys(self) -> list[str]:
        return [f"{prefix}.#" for prefix in self.by_prefix]

    def reply_to(self, routing_key: str, body: bytes | str) -> bytes | None:
        """The encoded CallResult for a Call delivered with ``routing_key``, None for anything else."""
        words = routing_key.split(".")
        version = self.by_prefix.get(words[0])
        if version is None or len(words) != 3 or words[2] != "req":
            return None
        try:
            frame: Any = json.loads(body)
        except ValueError:
            return None
        if not isinstance(frame, list) or len(frame) != 4 or frame[0] != 2:
            return None
        payload = frame[3] if isinstance(frame[3], dict) else {}
        return bench_amqp.encode([3, frame[1], version.csms_result(str(frame[2]), payload)])

    def on_delivery(self, message: pyamqp.Message) -> None:
        """Keep a delivery for ``answer_all``."""
        self.inbox.append(message)

    def answer_all(self) -> None:
        """Answer the deliveries kept so far, and those that arrive meanwhile."""
        while self.inbox:
            self.answer(self.inbox.popleft())

    def answer(self, message: pyamqp.Message) -> None:
        """Answer one delivery (or count it as ignored), then acknowledge it."""
        cid = message.properties.get("reply_to")
        reply = self.reply_to(str(message.delivery_info.get("routing_key") or ""), message.body)
        if reply is None or not isinstance(cid, str) or not cid:
            self.ignored += 1
        else:
            out = pyamqp.Message(reply, content_type=bench_amqp.CONTENT_TYPE, delivery_mode=1)
            self.channel.basic_publish(out, exchange=self.exchange, routing_key=cid)
            self.answered += 1
        self.channel.basic_ack(message.delivery_info["delivery_tag"])


def serve(
    url: str,
    responder: AmqpResponder,
    queue: str,
    stop: threading.Event,
    ready: threading.Event,
    exclusive: bool = True,
) -> None:
    """Declare and bind ``queue``, consume it with ``responder`` until ``stop`` (``ready`` set once consuming).

    ``exclusive``: the queue goes with the connection (a test keeps one that outlives it, to fill it first).
    """
    connection = bench_amqp.connect(url)
    try:
        channel: Any = connection.channel()
        responder.channel = channel
        channel.confirm_select()
        channel.queue_declare(queue, exclusive=exclusive, auto_delete=exclusive)
        for key in responder.binding_keys:
            channel.queue_bind(queue, exchange=responder.exchange, routing_key=key)
        channel.basic_qos(prefetch_size=0, prefetch_count=PREFETCH, a_global=False)
        channel.basic_consume(queue, callback=responder.on_delivery, no_ack=False)
        ready.set()
        while not stop.is_set():
            try:
                connection.connection.drain_events(timeout=DRAIN_TIMEOUT)
            except TimeoutError:
                continue
            responder.answer_all()
    finally:
        connection.release()


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=bench_amqp.url_from_env())
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--queue", required=True)
    args = parser.parse_args(argv)
    responder = AmqpResponder(args.exchange)
    stop, ready = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    announce = threading.Thread(target=lambda: ready.wait() and print("amqp responder ready", flush=True), daemon=True)
    announce.start()
    serve(args.url, responder, args.queue, stop, ready)
    print(f"amqp responder answered={responder.answered} ignored={responder.ignored}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
