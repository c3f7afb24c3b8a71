"""Fuzz run: mutated OCPP 1.6 frames at a real bridge and worker, as a gateway would publish them.

    python -m bench.fuzz [--frames 20000] [--rate 150] [--chargers 50] [--seed 1]

Starts a bridge and a 2-process Celery worker (own queue, own topic prefix) against the services
of ``DATABASE_URL``, ``REDIS_URL`` and ``MQTT_URL`` (the embedded ones when unset), publishes
``--frames`` frames built from valid 1.6 Calls by a mutation each (deep nesting, huge numbers,
lone surrogates, NUL, oversize, out-of-range values, wrong types, missing fields, truncation,
byte flips, broken envelopes), both payload dialects, while a control charger runs normal Calls.
Then it checks what issue 14 asks: no process died, every answerable Call (valid JSON, the
integer MessageTypeId 2, a string UniqueId of at most 36 characters; also when oversized or too
deep for a parser) was answered exactly once, nothing else was answered (a frame that is not JSON
but whose Call head is readable may be answered once), and no traceback was logged. It prints a
summary and exits 1 on any failure. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from bench import mqtt as bench_mqtt
from bench import payloads, procs

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"

# How a mutated frame should be read by a correct CSMS.
ANSWERABLE, SILENT, UNKNOWN = "answerable", "silent", "unknown"


def _valid_calls() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("BootNotification", payloads.boot_notification("FZ-1")),
        ("Heartbeat", payloads.heartbeat()),
        ("StatusNotification", payloads.status_notification(1, "Available")),
        ("Authorize", payloads.authorize()),
        ("StartTransaction", payloads.start_transaction(1, 1000)),
        ("MeterValues", payloads.meter_values(1, 1, 1500, 7200.0, 55.0)),
        ("StopTransaction", payloads.stop_transaction(1, 2000)),
        ("DataTransfer", {"vendorId": "acme", "messageId": "m", "data": "d"}),
    ]


def _frame(dialect: str, message_id: Any, action: Any, payload: Any) -> str:
    if dialect == "ocppj":
        return json.dumps([2, message_id, action, payload])
    return json.dumps({"MessageTypeId": 2, "UniqueId": message_id, "Action": action, "Payload": payload})


def mutate(rng: random.Random, message_id: str) -> tuple[str, str, str]:
    """(mutation name, frame text, expectation) for one fuzz frame."""
    action, payload = rng.choice(_valid_calls())
    dialect = rng.choice(("emqx", "ocppj"))
    payload = json.loads(json.dumps(payload))
    kind = rng.choice(
        [
            "valid", "deep", "deep_huge", "big_int", "huge_int", "surrogate", "inf", "oversize", "negative_id",
            "type", "missing", "nul", "unknown_action", "short_array", "string_type", "long_id", "truncate",
            "flip", "extra",
        ]
    )  # fmt: skip
    key = next(iter(payload), "x")
    if kind == "valid":
        return kind, _frame(dialect, message_id, action, payload), ANSWERABLE
    if kind in ("deep", "deep_huge"):
        depth = rng.choice((40, 500, 990)) if kind == "deep" else rng.choice((1_000, 5_000, 30_000))
        text = _frame(dialect, message_id, "DataTransfer", {"vendorId": "v", "data": "@"})
        return kind, text.replace('"@"', "[" * depth + "]" * depth), ANSWERABLE
    if kind == "big_int":
        payload[key] = 2**rng.choice((31, 40, 63, 64, 100))
        return kind, _frame(dialect, message_id, action, payload), ANSWERABLE
    if kind == "huge_int":
        text = _frame(dialect, message_id, action, {**payload, key: "@"})
        return kind, text.replace('"@"', "9" * rng.choice((4_301, 5_000, 60_000))), ANSWERABLE
    if kind == "surrogate":
        text = _frame(dialect, message_id, action, {**payload, key: "@"})
        return kind, text.replace('"@"', '"a\\udc80b"' if rng.random() < 0.5 else '"\\ud800"'), ANSWERABLE
    if kind == "inf":
        text = _frame(dialect, message_id, action, {**payload, key: "@"})
        return kind, text.replace('"@"', rng.choice(("1e999", "-1e400"))), ANSWERABLE
    if kind == "oversize":
        payload["pad"] = "z" * rng.choice((70_000, 200_000))
        return kind, _frame(dialect, message_id, action, payload), ANSWERABLE
    if kind == "negative_id":
        status = {**payloads.status_notification(1, "Available"), "connectorId": rng.choice((-1, 2**40))}
        return kind, _frame(dialect, message_id, "StatusNotification", status), ANSWERABLE
    if kind == "type":
        payload[key] = rng.choice(([1], {"a": 1}, True, None, 1.5, "x"))
        return kind, _frame(dialect, message_id, action, payload), ANSWERABLE
    if kind == "missing":
        payload.pop(key, None)
        return kind, _frame(dialect, message_id, action, payload), ANSWERABLE
    if kind == "nul":
        payload[key] = "a\x00b"
        return kind, _frame(dialect, message_id, action, payload), ANSWERABLE
    if kind == "unknown_action":
        return kind, _frame(dialect, message_id, rng.choice(("Foo", "x" * 80, "")), payload), ANSWERABLE
    if kind == "short_array":
        return kind, json.dumps([2, message_id]), ANSWERABLE
    if kind == "string_type":
        envelope = {"MessageTypeId": "2", "UniqueId": message_id, "Action": action, "Payload": payload}
        return kind, json.dumps(envelope), SILENT
    if kind == "long_id":
        return kind, _frame(dialect, message_id + "x" * 40, action, payload), SILENT
    if kind == "truncate":
        text = _frame(dialect, message_id, action, payload)
        return kind, text[: rng.randrange(1, len(text))], UNKNOWN
    if kind == "flip":
        raw = bytearray(_frame(dialect, message_id, action, payload).encode())
        start = raw.index(message_id.encode())
        # The id and its quotes are spared: a flipped id could become another frame's, or swallow its neighbours.
        spared = range(start - 1, start + len(message_id) + 1)
        for _ in range(rng.randint(1, 4)):
            position = rng.choice([i for i in range(len(raw)) if i not in spared])
            raw[position] = rng.randrange(256)
        return kind, raw.decode("utf-8", "replace"), UNKNOWN
    payload["unexpected"] = {"nested": [1, 2, 3]}
    return kind, _frame(dialect, message_id, action, payload), ANSWERABLE


_HEAD = re.compile(
    r'^\s*(?:\[\s*2\s*,\s*"([^"\\]{1,36})"'
    r'|\{\s*"MessageTypeId"\s*:\s*2\s*,\s*"UniqueId"\s*:\s*"([^"\\]{1,36})")'
)


def classify(text: str) -> str:
    """Whether a mutated frame of unknown shape is an answerable Call (read independently of our decoder)."""
    try:
        data = json.loads(text)
    except RecursionError:
        return ANSWERABLE if _HEAD.match(text) else SILENT
    except ValueError:
        # Not JSON, but a Call's head is readable: answering it (OCPP-J's RPC framework error) is
        # allowed, not required.
        return UNKNOWN if _HEAD.match(text) else SILENT
    if isinstance(data, list) and len(data) >= 2:
        kind, message_id = data[0], data[1]
    elif isinstance(data, dict):
        kind, message_id = data.get("MessageTypeId"), data.get("UniqueId")
    else:
        return SILENT
    answerable = type(kind) is int and kind == 2 and isinstance(message_id, str) and 0 < len(message_id) <= 36
    return ANSWERABLE if answerable else SILENT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=150.0, help="frames per second")
    parser.add_argument("--chargers", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for the last replies")
    args = parser.parse_args(argv)

    run_id = uuid.uuid4().hex[:8]
    prefix = f"fuzz-{run_id}/"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    from bench import services

    urls = services.ensure(ROOT / ".data" / "bench")
    env = {
        **os.environ,
        **urls,
        "CSMS_CELERY_QUEUE": f"fuzz-{run_id}",
        "CSMS_TOPIC_CALL": prefix + "ocpp/cp/{cid}",
        "CSMS_TOPIC_REPLY": prefix + "ocpp/cp/{cid}/Reply",
        "CSMS_TOPIC_DOWNSTREAM": prefix + "ocpp/cs/{cid}",
        "CSMS_TOPIC_PRESENCE": prefix + "presence/+/{cid}/connected",
        "CSMS_MQTT_CLIENT_ID": f"fuzz-bridge-{run_id}",
        "CSMS_BOOT_POLICY": "accept",
        "CSMS_FETCH_CONFIGURATION_ON_BOOT": "false",
        "PYTHONUNBUFFERED": "1",
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    logs = {role: RESULTS_DIR / f"fuzz-{run_id}-{role}.log" for role in ("bridge", "worker")}
    import subprocess

    from backoffice.devstack import ensure_database

    ensure_database(urls["DATABASE_URL"])
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    children = [
        procs.start("bridge", [sys.executable, "manage.py", "run_mqtt_bridge"], env, logs["bridge"], ROOT),
        procs.start("worker", [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "-c", "2",
                               "-Q", env["CSMS_CELERY_QUEUE"], "-l", "info", "--without-gossip", "--without-mingle"],
                    env, logs["worker"], ROOT),
    ]  # fmt: skip
    replies: Counter[str] = Counter()
    lock = threading.Lock()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        body = json.loads(message.payload)
        kind, message_id = (body[0], body[1]) if isinstance(body, list) else (body["MessageTypeId"], body["UniqueId"])
        if kind in (3, 4):
            with lock:
                replies[message_id] += 1

    client = bench_mqtt.connect(urls["MQTT_URL"], f"fuzz-gw-{run_id}", [prefix + "ocpp/cs/+"], on_message)
    rng = random.Random(args.seed)
    expected: dict[str, tuple[str, str]] = {}  # message id -> (mutation, expectation)
    samples: dict[str, str] = {}  # message id -> frame text (the small ones), to show failures
    try:
        probe = "probe-" + run_id
        deadline = time.monotonic() + 60
        while not replies[probe]:
            client.publish(prefix + "ocpp/cp/fz-control", _frame("emqx", probe, "Heartbeat", {}), qos=1)
            time.sleep(1)
            if time.monotonic() > deadline:
                raise SystemExit("the stack did not answer within 60 s")
        started = time.monotonic()
        for n in range(args.frames):
            message_id = f"{run_id}{n:07d}"
            mutation, text, expectation = mutate(rng, message_id)
            if expectation == UNKNOWN:
                expectation = classify(text)
            if message_id not in text:  # the id was destroyed: what was answered cannot be told apart
                expectation = SILENT if expectation == SILENT else UNKNOWN
            expected[message_id] = (mutation, expectation)
            if len(text) <= 2048:
                samples[message_id] = text
            cid = f"fz-{rng.randrange(args.chargers):03d}"
            client.publish(prefix + f"ocpp/cp/{cid}", text.encode("utf-8", "surrogatepass"), qos=1)
            if n % 10 == 0:  # the control charger, served throughout
                control = f"ctl-{run_id}-{n}"
                expected[control] = ("control", ANSWERABLE)
                client.publish(prefix + "ocpp/cp/fz-control", _frame("emqx", control, "Heartbeat", {}), qos=1)
            time.sleep(max(0.0, started + (n + 1) / args.rate - time.monotonic()))
        settle_until = time.monotonic() + args.settle
        answerable = {mid for mid, (_, e) in expected.items() if e == ANSWERABLE}
        while time.monotonic() < settle_until and not answerable <= set(replies):
            time.sleep(0.5)
        time.sleep(2)
    finally:
        bench_mqtt.close(client)
        alive = {child.role: child.alive() for child in children}
        for child in children:
            procs.stop(child)
    with lock:
        got = dict(replies)
    by_mutation: dict[str, Counter[str]] = {}
    failures = 0
    for message_id, (mutation, expectation) in expected.items():
        count = got.get(message_id, 0)
        verdict = (
            "ok"
            if (expectation == ANSWERABLE and count == 1) or (expectation == SILENT and count == 0)
            or (expectation == UNKNOWN and count <= 1)
            else f"{expectation} answered {count}x"
        )  # fmt: skip
        by_mutation.setdefault(mutation, Counter())[verdict] += 1
        if verdict != "ok":
            failures += 1
            if failures <= 5:
                sample = samples.get(message_id, "(large)")[:300]
                print(f"  not as expected: {mutation} {message_id} {verdict}: {sample!r}")
    tracebacks = {role: path.read_text(errors="replace").count("Traceback") for role, path in logs.items()}
    print(f"fuzz run {run_id}: {args.frames} frames at {args.rate:.0f}/s, seed {args.seed}")
    for mutation, verdicts in sorted(by_mutation.items()):
        print(f"  {mutation:15s} " + ", ".join(f"{v}: {c}" for v, c in sorted(verdicts.items())))
    print(f"  processes alive at the end: {alive}; tracebacks logged: {tracebacks}")
    print(f"  logs: {', '.join(str(p) for p in logs.values())}")
    ok = failures == 0 and all(alive.values()) and not any(tracebacks.values())
    print("PASS" if ok else f"FAIL ({failures} frames not handled as expected)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
