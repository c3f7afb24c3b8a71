"""The load generator: many virtual chargers behind one MQTT connection, as a gateway has them.

Each charger keeps at most one Call outstanding (OCPP's rule). Calls go out as EMQX JSON on the
call topic of the chargers' OCPP version (``bench.versions``), replies are read from the downstream
topic and matched by (charger, UniqueId). A Call with no reply after ``timeout`` seconds (30 s, when
real chargers give up) is lost. A reply is counted as an error when it is a CallError, and as
invalid when it is a CallResult whose payload fails the version's official response schema. Calls
the CSMS sends to a charger are answered on the reply topic, as a charger would.

Three scenarios:
- ``closed``: every charger sends its next Call as soon as the previous one is answered;
- ``open``: after all chargers booted, Calls go out at a fixed offered rate to idle chargers;
- ``storm``: every charger sends BootNotification at the same moment, then one
  StatusNotification per connector; the result is the time until all were answered.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from bench import mqtt as bench_mqtt
from bench.mqtt import DEFAULT_TOPICS, Topics
from bench.payloads import CONNECTORS
from bench.versions import V16, Script, Version
from protocols.validation import Kind, OcppError, validate

REPLY_TIMEOUT = 30.0
STARTUP_CALLS = 1 + CONNECTORS


@dataclass
class Pending:
    """A Call waiting for its reply."""

    action: str
    sent_at: float


@dataclass
class Charger:
    """A virtual charger: its script and its one outstanding Call."""

    script: Script
    pending_uid: str | None = None
    sent: int = 0
    seq: int = 0
    limit: int | None = None

    def next_uid(self) -> str:
        """A message id unique for this charger."""
        self.seq += 1
        return f"{self.seq:x}"


@dataclass
class Stats:
    """What happened to the Calls of one measured window."""

    calls: int = 0
    replies: int = 0
    latencies: list[float] = field(default_factory=list)
    reply_times: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    late: int = 0
    unmatched: int = 0
    server_calls: int = 0
    publish_failures: int = 0
    skipped_offers: int = 0


def _was_sent(charger: Charger, uid: str) -> bool:
    """Whether ``uid`` is one of the message ids this charger already used."""
    try:
        return 0 < int(uid, 16) <= charger.seq
    except ValueError:
        return False


def result_problem(version: str, action: str, payload: Any) -> str | None:
    """The error code a CallResult payload earns against the official ``<action>Response`` schema, or None.

    Asked through the backoffice's own validation (fastjsonschema first, a few microseconds for a
    valid payload), so the check costs the load generator little at thousands of replies a second.
    """
    try:
        validate(Kind.RESULT, action, payload, version)
    except OcppError as exc:
        return exc.code
    return None


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


def latency_summary(latencies: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds."""
    values = sorted(latencies)
    mean = sum(values) / len(values) if values else 0.0
    summary = {f"p{int(q * 100)}": percentile(values, q) for q in (0.5, 0.95, 0.99)}
    summary.update(max=values[-1] if values else 0.0, mean=mean)
    return {key: round(value * 1000, 2) for key, value in summary.items()}


class LoadGenerator:
    """Virtual chargers on one MQTT connection. Not reusable: one instance per scenario."""

    def __init__(
        self,
        url: str,
        prefix: str,
        topics: Topics = DEFAULT_TOPICS,
        timeout: float = REPLY_TIMEOUT,
        version: Version = V16,
    ):
        self.url = url
        self.prefix = prefix
        self.topics = topics
        self.version = version
        self.timeout = timeout
        self.chargers: dict[str, Charger] = {}
        self.pending: dict[tuple[str, str], Pending] = {}
        self.stats = Stats()
        self.auto_next = True
        self.sending = True
        self.lock = threading.Lock()
        self.client: mqtt.Client | None = None
        self._stop_watchdog = threading.Event()

    # --- connection -----------------------------------------------------------------------------

    def start(self, count: int) -> None:
        """Create ``count`` chargers, connect and start the lost-reply watchdog."""
        for index in range(count):
            cid = f"{self.prefix}{index:05d}"
            self.chargers[cid] = Charger(self.version.script(cid, index))
        self.client = bench_mqtt.connect(
            self.url, f"{self.prefix}gw", [Topics.subscription(self.topics.downstream)], self._on_message
        )
        threading.Thread(target=self._watchdog, name="bench-watchdog", daemon=True).start()

    def stop(self) -> None:
        """Disconnect."""
        self._stop_watchdog.set()
        if self.client is not None:
            bench_mqtt.close(self.client)

    # --- sending --------------------------------------------------------------------------------

    def send_next(self, cid: str) -> bool:
        """Send the charger's next Call if it is idle and under its limit; True if sent."""
        with self.lock:
            message = self._prepare(cid)
        if message is None:
            return False
        self._publish(*message)
        return True

    def _publish(self, topic: str, data: Any) -> None:
        """Hand one charger frame to the transport (a failure is counted, the Call then goes lost)."""
        assert self.client is not None
        info = self.client.publish(topic, data, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            with self.lock:
                self.stats.publish_failures += 1

    def _prepare(self, cid: str) -> tuple[Any, ...] | None:
        charger = self.chargers[cid]
        if not self.sending or charger.pending_uid is not None:
            return None
        if charger.limit is not None and charger.sent >= charger.limit:
            return None
        action, payload = charger.script.next_call()
        uid = charger.next_uid()
        charger.pending_uid = uid
        charger.sent += 1
        self.pending[(cid, uid)] = Pending(action, time.perf_counter())
        self.stats.calls += 1
        return self._call_message(cid, {"MessageTypeId": 2, "UniqueId": uid, "Action": action, "Payload": payload})

    def _call_message(self, cid: str, frame: dict[str, Any]) -> tuple[Any, ...]:
        """The arguments of ``_publish`` for a charger's Call: EMQX JSON on the call topic."""
        return self.topics.call.format(cid=cid), json.dumps(frame, separators=(",", ":")).encode()

    # --- receiving ------------------------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        cid = Topics.cid(self.topics.downstream, message.topic)
        try:
            frame = json.loads(message.payload)
        except ValueError:
            frame = None
        if cid is None or cid not in self.chargers or not isinstance(frame, dict):
            with self.lock:
                self.stats.unmatched += 1
            return
        if frame.get("MessageTypeId") == 2:
            self._answer_server_call(cid, frame)
            return
        if self._take_reply(cid, frame) and self.auto_next:
            self.send_next(cid)

    def _take_reply(self, cid: str, frame: dict[str, Any]) -> bool:
        """Record a CallResult/CallError; True if it answered the charger's outstanding Call."""
        now = time.perf_counter()
        uid = str(frame.get("UniqueId"))
        with self.lock:
            pending = self.pending.pop((cid, uid), None)
            charger = self.chargers[cid]
            if pending is None:
                if _was_sent(charger, uid):
                    self.stats.late += 1
                else:
                    self.stats.unmatched += 1
                return False
            self._record(pending, frame, now)
            result = frame.get("Payload") if frame.get("MessageTypeId") == 3 else None
            charger.script.on_reply(pending.action, result if isinstance(result, dict) else None)
            charger.pending_uid = None
            return True

    def _record(self, pending: Pending, frame: dict[str, Any], now: float) -> None:
        self.stats.replies += 1
        self.stats.latencies.append(now - pending.sent_at)
        self.stats.reply_times.append(now)
        self.stats.actions[pending.action] += 1
        if frame.get("MessageTypeId") != 3:
            self.stats.errors[f"{pending.action}:{frame.get('ErrorCode', 'unknown')}"] += 1
            return
        problem = result_problem(self.version.name, pending.action, frame.get("Payload"))
        if problem is not None:
            self.stats.invalid[f"{pending.action}:{problem}"] += 1

    def _answer_server_call(self, cid: str, frame: dict[str, Any]) -> None:
        action = str(frame.get("Action"))
        payload = frame.get("Payload")
        result = self.version.charger_result(action, payload if isinstance(payload, dict) else {})
        reply: dict[str, Any] = {"MessageTypeId": 3, "UniqueId": frame.get("UniqueId"), "Payload": result}
        if result is None:
            reply = {
                "MessageTypeId": 4,
                "UniqueId": frame.get("UniqueId"),
                "ErrorCode": "NotSupported",
                "ErrorDescription": f"bench charger does not support {action}",
            }
        with self.lock:
            self.stats.server_calls += 1
        self._send_reply(cid, reply)

    def _send_reply(self, cid: str, reply: dict[str, Any]) -> None:
        """A charger's answer to a CSMS Call: EMQX JSON on the reply topic."""
        assert self.client is not None
        data = json.dumps(reply, separators=(",", ":")).encode()
        self.client.publish(self.topics.reply.format(cid=cid), data, qos=1)

    def _watchdog(self) -> None:
        while not self._stop_watchdog.wait(0.5):
            for cid in self._expire():
                if self.auto_next:
                    self.send_next(cid)

    def _expire(self) -> list[str]:
        """Count Calls older than the timeout as lost; return their (now idle) chargers."""
        deadline = time.perf_counter() - self.timeout
        with self.lock:
            expired = [key for key, pending in self.pending.items() if pending.sent_at < deadline]
            for cid, uid in expired:
                pending = self.pending.pop((cid, uid))
                self.stats.lost += 1
                self.chargers[cid].script.on_reply(pending.action, None)
                self.chargers[cid].pending_uid = None
        return [cid for cid, _ in expired]

    # --- waiting --------------------------------------------------------------------------------

    def outstanding(self) -> int:
        """Calls still waiting for a reply."""
        with self.lock:
            return len(self.pending)

    def drain(self) -> None:
        """Stop sending and wait until every Call is answered or lost."""
        self.sending = False
        while self.outstanding():
            time.sleep(0.05)

    def wait_all_sent(self, calls_per_charger: int) -> None:
        """Wait until every charger sent ``calls_per_charger`` Calls and none is outstanding."""
        target = calls_per_charger * len(self.chargers)
        while True:
            with self.lock:
                done = sum(min(c.sent, calls_per_charger) for c in self.chargers.values())
                if done >= target and not self.pending:
                    return
            time.sleep(0.02)

    def reset_stats(self) -> None:
        """Start a new measured window."""
        with self.lock:
            self.stats = Stats()


def summarize(stats: Stats, window_start: float, window_end: float) -> dict[str, Any]:
    """The scenario's figures: replies/s inside the window, latency, errors, lost replies."""
    seconds = max(window_end - window_start, 1e-9)
    in_window = sum(1 for t in stats.reply_times if window_start <= t <= window_end)
    return {
        "calls": stats.calls,
        "replies": stats.replies,
        "window_s": round(seconds, 3),
        "replies_per_s": round(in_window / seconds, 1),
        "latency_ms": latency_summary(stats.latencies),
        "call_errors": sum(stats.errors.values()),
        "call_errors_by_kind": dict(stats.errors.most_common(10)),
        "invalid_replies": sum(stats.invalid.values()),
        "invalid_replies_by_kind": dict(stats.invalid.most_common(10)),
        "lost": stats.lost,
        "late_replies": stats.late,
        "unmatched": stats.unmatched,
        "server_calls_answered": stats.server_calls,
        "publish_failures": stats.publish_failures,
        "skipped_offers": stats.skipped_offers,
        "by_action": dict(stats.actions.most_common()),
    }


def run_closed(
    url: str,
    prefix: str,
    chargers: int,
    duration: float,
    topics: Topics = DEFAULT_TOPICS,
    version: Version = V16,
    scenario: str = "closed",
    on_window: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Closed loop: boot every charger, then each always has one Call outstanding, for ``duration`` s.

    The boot phase (BootNotification and a StatusNotification per connector, the storm's work) is
    timed on its own; the measured window is the sustained mix that follows (``on_window`` is called
    as it opens: the process costs are sampled from there).
    """
    return closed_loop(LoadGenerator(url, prefix, topics, version=version), chargers, duration, scenario, on_window)


def closed_loop(
    gen: LoadGenerator,
    chargers: int,
    duration: float,
    scenario: str = "closed",
    on_window: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """``run_closed`` with a load generator of any transport (``bench.loadgen_amqp``'s too)."""
    version = gen.version
    gen.start(chargers)
    try:
        boot_seconds = _boot_all(gen)
        for charger in gen.chargers.values():
            charger.limit = None
        gen.reset_stats()
        if on_window is not None:
            on_window()
        started = time.perf_counter()
        for cid in list(gen.chargers):
            gen.send_next(cid)
        time.sleep(duration)
        ended = time.perf_counter()
        gen.drain()
        result = summarize(gen.stats, started, ended)
    finally:
        gen.stop()
    head = {"scenario": scenario, "ocpp_version": version.name, "chargers": chargers, "duration_s": duration}
    return {**head, "boot_phase_s": boot_seconds, **result}


def _boot_all(gen: LoadGenerator) -> float:
    """Every charger sends its start-up Calls (one at a time, as OCPP requires); returns the seconds taken."""
    started = time.perf_counter()
    for charger in gen.chargers.values():
        charger.limit = STARTUP_CALLS
    for cid in list(gen.chargers):
        gen.send_next(cid)
    gen.wait_all_sent(STARTUP_CALLS)
    return round(time.perf_counter() - started, 2)


def run_open(
    url: str, prefix: str, chargers: int, duration: float, rate: float, topics: Topics = DEFAULT_TOPICS
) -> dict[str, Any]:
    """Open loop: boot every charger, then offer ``rate`` Calls/s to idle chargers for ``duration``."""
    gen = LoadGenerator(url, prefix, topics)
    gen.start(chargers)
    try:
        boot_seconds = _boot_all(gen)
        gen.auto_next = False
        for charger in gen.chargers.values():
            charger.limit = None
        gen.reset_stats()
        started, ended = _offer(gen, rate, duration)
        gen.drain()
        result = summarize(gen.stats, started, ended)
    finally:
        gen.stop()
    head = {"scenario": "open", "ocpp_version": "1.6", "chargers": chargers, "duration_s": duration}
    return {**head, "offered_rate": rate, "boot_phase_s": boot_seconds, **result}


def _offer(gen: LoadGenerator, rate: float, duration: float) -> tuple[float, float]:
    """Send Calls at ``rate`` per second, round robin over idle chargers; returns the window."""
    cids = list(gen.chargers)
    started = time.perf_counter()
    sent, cursor = 0, 0
    while True:
        due = started + sent / rate
        now = time.perf_counter()
        if due >= started + duration:
            break
        if due > now:
            time.sleep(due - now)
        for _ in range(len(cids)):
            cursor = (cursor + 1) % len(cids)
            if gen.send_next(cids[cursor]):
                break
        else:
            with gen.lock:
                gen.stats.skipped_offers += 1
        sent += 1
    return started, started + duration


def run_storm(url: str, prefix: str, chargers: int, topics: Topics = DEFAULT_TOPICS) -> dict[str, Any]:
    """Reconnection storm: all chargers boot at once, then report each connector."""
    gen = LoadGenerator(url, prefix, topics)
    gen.start(chargers)
    try:
        for charger in gen.chargers.values():
            charger.limit = STARTUP_CALLS
        started = time.perf_counter()
        for cid in list(gen.chargers):
            gen.send_next(cid)
        gen.wait_all_sent(STARTUP_CALLS)
        ended = max(gen.stats.reply_times, default=started)
        result = summarize(gen.stats, started, ended)
    finally:
        gen.stop()
    head = {"scenario": "storm", "ocpp_version": "1.6", "chargers": chargers}
    return {**head, "all_answered_s": round(ended - started, 3), **result}


def probe(url: str, prefix: str, timeout: float, topics: Topics = DEFAULT_TOPICS) -> bool:
    """Whether one charger's BootNotification gets any reply within ``timeout`` seconds."""
    return probe_with(LoadGenerator(url, prefix, topics, timeout=timeout))


def probe_with(gen: LoadGenerator) -> bool:
    """``probe`` with a load generator of any transport."""
    gen.start(1)
    try:
        for charger in gen.chargers.values():
            charger.limit = 1
        gen.send_next(next(iter(gen.chargers)))
        gen.drain()
        return gen.stats.replies > 0
    finally:
        gen.stop()
