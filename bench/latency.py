"""Single-request latencies, through the broker, with a bridge and a Celery worker of our own.

    python -m bench.latency heartbeat [--calls 1000] [--own-broker]
    python -m bench.latency command [--commands 400] [--own-broker]

``heartbeat``: one charger sends Heartbeats one after the other (each waits for its reply), as a
gateway would publish them; the time from publish to our reply on ``ocpp/cs/{cid}``.
``command``: commands are queued with ``command_enqueue`` for 20 online chargers, 50 a second; the
time from the call to the Call arriving on the downstream topic (a client answers each one, so the
next command of that charger can go). Both run under their own topic prefix and Celery queue, so
they can share a broker with anything else.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    n = len(ordered)

    def at(p: float) -> float:
        return ordered[min(n - 1, int(n * p))]

    return (
        f"n={n} p50={statistics.median(ordered):.1f} ms p95={at(0.95):.1f} ms "
        f"p99={at(0.99):.1f} ms max={ordered[-1]:.1f} ms"
    )


def _isolate(run: str) -> str:
    """Our own topics and queue (set before Django's settings are read); returns the topic prefix."""
    prefix = f"latency-{run}/"
    os.environ.update(
        {
            "CSMS_CELERY_QUEUE": f"latency-{run}",
            "CSMS_MQTT_CLIENT_ID": f"latency-bridge-{run}",
            "CSMS_TOPIC_CALL": prefix + "ocpp/cp/{cid}",
            "CSMS_TOPIC_REPLY": prefix + "ocpp/cp/{cid}/Reply",
            "CSMS_TOPIC_DOWNSTREAM": prefix + "ocpp/cs/{cid}",
            "CSMS_TOPIC_PRESENCE": prefix + "presence/+/{cid}/connected",
            "CSMS_BOOT_POLICY": "accept",
            "CSMS_LOG_LEVEL": "WARNING",
        }
    )
    return prefix


def heartbeat(calls: int, prefix: str) -> str:
    from bench import mqtt as bench_mqtt

    replies: queue.Queue[float] = queue.Queue()
    cid = "latency-hb"
    client = bench_mqtt.connect(
        os.environ["MQTT_URL"],
        f"latency-{uuid.uuid4().hex[:6]}",
        [f"{prefix}ocpp/cs/{cid}"],
        lambda c, u, message: replies.put(time.perf_counter()),
    )

    def one(message_id: str) -> float:
        start = time.perf_counter()
        frame = {"MessageTypeId": 2, "UniqueId": message_id, "Action": "Heartbeat", "Payload": {}}
        client.publish(f"{prefix}ocpp/cp/{cid}", json.dumps(frame), qos=1)
        return (replies.get(timeout=30) - start) * 1000

    for index in range(20):  # warm-up: connections, caches
        one(f"warm-{index}")
    result = _percentiles([one(f"hb-{index}") for index in range(calls)])
    bench_mqtt.close(client)
    return "Heartbeat round trip: " + result


def command(commands: int, prefix: str) -> str:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    django.setup()
    from bench import mqtt as bench_mqtt
    from chargers.commands import command_enqueue
    from chargers.models import ChargePoint

    arrived: dict[str, float] = {}

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        body = json.loads(message.payload)
        arrived[body["UniqueId"]] = time.time()
        cid = message.topic.rsplit("/", 1)[-1]
        answer = {"MessageTypeId": 3, "UniqueId": body["UniqueId"], "Payload": {"status": "Accepted"}}
        client.publish(f"{prefix}ocpp/cp/{cid}/Reply", json.dumps(answer), qos=1)

    client = bench_mqtt.connect(
        os.environ["MQTT_URL"], f"latency-{uuid.uuid4().hex[:6]}", [f"{prefix}ocpp/cs/+"], on_message
    )
    chargers = [
        ChargePoint.objects.create(
            charge_point_id=f"latency-{uuid.uuid4().hex[:8]}", registration_status="Accepted", online=True
        )
        for _ in range(20)
    ]
    queued = []
    try:
        for index in range(commands):
            start = time.time()
            done = command_enqueue(charge_point=chargers[index % 20], action="ClearCache", payload={})
            queued.append((done.message_id, start))
            time.sleep(0.02)
        deadline = time.time() + 60
        while any(message_id not in arrived for message_id, _ in queued) and time.time() < deadline:
            time.sleep(0.1)
    finally:
        ChargePoint.objects.filter(pk__in=[charger.pk for charger in chargers]).delete()
        bench_mqtt.close(client)
    samples = [(arrived[message_id] - start) * 1000 for message_id, start in queued if message_id in arrived]
    return f"queued -> Call on the downstream topic: {len(samples)}/{commands} arrived, " + _percentiles(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("measure", choices=("heartbeat", "command"))
    parser.add_argument("--calls", type=int, default=1000, help="Heartbeats (heartbeat)")
    parser.add_argument("--commands", type=int, default=400, help="commands (command)")
    parser.add_argument(
        "--own-broker", action="store_true", help="a Mosquitto with set_tcp_nodelay (bench/mosquitto.conf)"
    )
    args = parser.parse_args(argv)

    from bench import procs, services

    run = uuid.uuid4().hex[:6]
    prefix = _isolate(run)
    work = Path(tempfile.mkdtemp(prefix="latency-"))
    children = []
    if args.own_broker:
        broker, url = services.start_own_broker(work, run)
        children.append(broker)
        os.environ["MQTT_URL"] = url
    services.ensure(ROOT / ".data")
    env = dict(os.environ)
    python = sys.executable
    children.append(procs.start("bridge", [python, "manage.py", "run_mqtt_bridge"], env, work / "bridge.log", ROOT))
    children.append(
        procs.start(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "worker",
                "-Q",
                env["CSMS_CELERY_QUEUE"],
                "-c",
                "2",
                "-l",
                "warning",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
            work / "worker.log",
            ROOT,
        )
    )
    try:
        time.sleep(8)  # the bridge subscribed, the worker consuming
        print(heartbeat(args.calls, prefix) if args.measure == "heartbeat" else command(args.commands, prefix))
    finally:
        for child in reversed(children):
            procs.stop(child)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
