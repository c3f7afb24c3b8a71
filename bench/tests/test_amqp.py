"""The AMQP scenario: the load generator plays the RabbitMQ Web OCPP plugin on the real RabbitMQ.

What goes on the wire (frames, routing keys, properties) and how replies find their charger are
read off the machine's broker (AMQP_URL, else guest on 127.0.0.1:5672; skipped when unreachable),
on an exchange and queues of each test's own. The short closed loop runs against the bare AMQP
responder in its own process: no backoffice, no timing asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import amqp as pyamqp
import pytest

from bench import amqp as bench_amqp
from bench import cli, loadgen_amqp
from bench.loadgen_amqp import AmqpLoadGenerator
from bench.responder_amqp import PREFETCH, AmqpResponder, serve
from bench.versions import V16
from protocols.validation import Kind, validate

ROOT = Path(__file__).resolve().parents[2]
URL = bench_amqp.url_from_env()
_PROBLEM = bench_amqp.unreachable(URL)
requires_rabbitmq = pytest.mark.skipif(
    bool(_PROBLEM),
    reason=f"no RabbitMQ at AMQP_URL={bench_amqp.redact(URL)!r} ({_PROBLEM}): set AMQP_URL to a reachable broker",
)


@pytest.fixture
def exchange() -> Iterator[str]:
    """A fresh exchange declared as the plugin declares its own, deleted afterwards."""
    name = f"bench-test-{uuid.uuid4().hex[:8]}"
    connection = bench_amqp.connect(URL)
    bench_amqp.exchange_declare(connection.channel(), name)
    connection.release()
    yield name
    bench_amqp.cleanup(URL, exchanges=[name])


class Tap:
    """A queue of the test's own on the exchange, read with basic_get."""

    def __init__(self, exchange: str, binding: str) -> None:
        self.connection = bench_amqp.connect(URL)
        channel: Any = self.connection.channel()
        self.channel, self.exchange = channel, exchange
        self.queue, _, _ = channel.queue_declare("", exclusive=True, auto_delete=True)
        channel.queue_bind(self.queue, exchange=exchange, routing_key=binding)

    def get(self, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.channel.basic_get(self.queue, no_ack=True)
            if message is not None:
                return message
            time.sleep(0.02)
        raise AssertionError(f"nothing in {self.queue} within {timeout} s")

    def publish(self, body: Any, routing_key: str) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.channel.basic_publish_confirm(pyamqp.Message(data), exchange=self.exchange, routing_key=routing_key)

    def close(self) -> None:
        self.connection.release()


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# --- the plugin's wire, without a broker -----------------------------------------------------------------


def test_routing_keys_and_properties_are_the_plugins() -> None:
    assert bench_amqp.routing_key([2, "1", "BootNotification", {}]) == "ocpp16.BootNotification.req"
    assert bench_amqp.routing_key([2, "1", "Heartbeat", {}], "2.0.1") == "ocpp201.Heartbeat.req"
    assert bench_amqp.routing_key([3, "7", {}]) == "ocpp16.response.conf"
    assert bench_amqp.routing_key([4, "7", "NotSupported", "", {}]) == "ocpp16.NotSupported.error"
    assert bench_amqp.properties([2, "a1", "Heartbeat", {}], "cp-1") == {
        "delivery_mode": 1,
        "content_type": "application/json",
        "correlation_id": "a1",
        "reply_to": "cp-1",
        "type": "Heartbeat",
    }
    assert "type" not in bench_amqp.properties([3, "a1", {}], "cp-1")
    # Charger ids are one routing-key word; the upstream keys have dots, so ``*`` never takes them.
    assert bench_amqp.REPLY_BINDING == "*" and "." not in cli.SCENARIOS["closed-amqp"].letter


def test_the_bare_amqp_responder_answers_calls_with_valid_results_and_nothing_else() -> None:
    responder = AmqpResponder("x")
    boot = {"chargePointVendor": "Bench", "chargePointModel": "AMQP"}
    reply = responder.reply_to("ocpp16.BootNotification.req", json.dumps([2, "u1", "BootNotification", boot]))
    assert reply is not None
    kind, uid, payload = json.loads(reply)
    assert (kind, uid) == (3, "u1")
    validate(Kind.RESULT, "BootNotification", payload, "1.6")
    assert responder.reply_to("ocpp16.response.conf", b'[3,"u1",{}]') is None
    assert responder.reply_to("mqtt.Heartbeat.req", b'[2,"u1","Heartbeat",{}]') is None
    assert responder.reply_to("ocpp16.Heartbeat.req", b"not json") is None


def test_an_unreachable_broker_skips_the_amqp_scenario_with_a_note_naming_amqp_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://guest:secret@127.0.0.1:1/")
    run = cli.Run(cli.parse(["--scenario", "transports"]), "t1", {})
    cli.check_amqp(run)
    assert run.options.scenarios == ["closed"] and run.amqp_names is None
    (note,) = run.notes
    assert note.startswith("closed-amqp skipped: no RabbitMQ at AMQP_URL=amqp://guest:***@127.0.0.1:1/")
    assert "secret" not in note
    assert "AMQP_URL" not in cli.child_env(run)  # the children get no AMQP at all


# --- on the real RabbitMQ ----------------------------------------------------------------------------------


@requires_rabbitmq
def test_a_virtual_chargers_call_goes_out_as_the_plugin_publishes_it(exchange: str) -> None:
    upstream = Tap(exchange, "ocpp16.#")
    gen = AmqpLoadGenerator(URL, "bench-t-", exchange, version=V16)
    gen.start(2)
    try:
        cid = "bench-t-00001"
        assert gen.send_next(cid)
        message = upstream.get()
        frame = json.loads(message.body)
        assert frame[0] == 2 and frame[2] == "BootNotification" and isinstance(frame[3], dict)
        assert message.delivery_info["routing_key"] == "ocpp16.BootNotification.req"
        assert message.properties == {
            "delivery_mode": 1,
            "content_type": "application/json",
            "correlation_id": frame[1],
            "reply_to": cid,
            "type": "BootNotification",
        }
        validate(Kind.CALL, "BootNotification", frame[3], "1.6")
        time.sleep(0.3)
        # The Call did not come back on the generator's own reply queue (bound with ``*``).
        assert gen.stats.server_calls == 0 and gen.stats.unmatched == 0 and gen.outstanding() == 1
    finally:
        gen.stop()
        upstream.close()


@requires_rabbitmq
def test_replies_are_dispatched_by_routing_key(exchange: str) -> None:
    upstream = Tap(exchange, "ocpp16.#")
    gen = AmqpLoadGenerator(URL, "bench-d-", exchange, version=V16)
    gen.auto_next = False
    gen.start(2)
    try:
        first, second = "bench-d-00000", "bench-d-00001"
        for cid in (first, second):
            gen.send_next(cid)
        calls = {m.properties["reply_to"]: json.loads(m.body) for m in (upstream.get(), upstream.get())}
        result = {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 60}
        # The first charger's message id sent with the second's routing key answers nothing.
        upstream.publish([3, calls[first][1] + "0", result], second)
        upstream.publish([3, calls[first][1], result], "bench-d-99999")  # nobody's charger
        upstream.publish([3, calls[second][1], result], second)
        wait_for(lambda: gen.stats.replies == 1 and gen.stats.unmatched == 2)
        assert gen.pending.keys() == {(first, calls[first][1])}
        assert gen.chargers[second].pending_uid is None and gen.chargers[first].pending_uid is not None
        # A Call of the CSMS to a charger is answered as the plugin would carry the charger's answer.
        upstream.publish([2, "srv1", "ChangeAvailability", {"connectorId": 0, "type": "Operative"}], first)
        answer = upstream.get()
        assert answer.delivery_info["routing_key"] == "ocpp16.response.conf"
        assert json.loads(answer.body) == [3, "srv1", {"status": "Accepted"}]
        assert answer.properties["reply_to"] == first and gen.stats.server_calls == 1
    finally:
        gen.stop()
        upstream.close()


@requires_rabbitmq
def test_smoke_closed_amqp_against_the_bare_amqp_responder_loses_nothing(exchange: str) -> None:
    queue = f"{exchange}.ceiling"
    argv = [sys.executable, "-m", "bench.responder_amqp", "--url", URL, "--exchange", exchange, "--queue", queue]
    responder = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert responder.stdout is not None and "ready" in responder.stdout.readline()
        assert loadgen_amqp.probe(URL, "bench-sp-", exchange, timeout=10.0)
        result = loadgen_amqp.run_closed(URL, "bench-sc-", 5, 2.0, exchange)
    finally:
        responder.terminate()
        out, _ = responder.communicate(timeout=15)
    assert result["transport"] == "amqp" and result["scenario"] == "closed-amqp"
    assert result["lost"] == 0 and result["replies"] == result["calls"] > 0
    assert result["invalid_replies"] == 0 and result["call_errors"] == 0 and result["unmatched"] == 0
    assert {"MeterValues", "StartTransaction", "StopTransaction"} <= set(result["by_action"])
    assert "answered=" in out and "ignored=0" in out


@requires_rabbitmq
def test_the_bare_amqp_responder_answers_a_backlog_far_above_its_prefetch(exchange: str) -> None:
    """A thousand Calls waiting: py-amqp's publish reads the connection, and answering inside the
    delivery callback recursed once per delivery until the stack overflowed (the first 1000-charger run)."""
    calls = 3 * PREFETCH
    replies = Tap(exchange, bench_amqp.REPLY_BINDING)
    queue = f"{exchange}.ceiling"
    responder, stop, ready = AmqpResponder(exchange), threading.Event(), threading.Event()
    channel: Any = replies.connection.channel()
    channel.queue_declare(queue, auto_delete=False)
    channel.queue_bind(queue, exchange=exchange, routing_key="ocpp16.#")
    thread = threading.Thread(target=serve, args=(URL, responder, queue, stop, ready, False), daemon=True)
    try:
        channel.confirm_select()
        for number in range(calls):
            frame = [2, f"m{number}", "Heartbeat", {}]
            message = pyamqp.Message(bench_amqp.encode(frame), **bench_amqp.properties(frame, "bench-b-00000"))
            channel.basic_publish(message, exchange=exchange, routing_key="ocpp16.Heartbeat.req")
        wait_for(lambda: channel.queue_declare(queue, passive=True)[1] == calls)
        thread.start()
        wait_for(lambda: responder.answered == calls or not thread.is_alive(), timeout=60)
        assert responder.answered == calls and thread.is_alive()
        first = replies.get()
        assert first.delivery_info["routing_key"] == "bench-b-00000"
        assert json.loads(first.body)[:2] == [3, "m0"]
    finally:
        stop.set()
        thread.join(10)
        replies.close()
        bench_amqp.cleanup(URL, queues=[queue])
