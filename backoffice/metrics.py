"""Cross-process metrics kept in Redis, rendered in the Prometheus text format.

The backoffice runs as several processes (the MQTT bridge, Celery worker processes, the web
server), so prometheus_client's in-process registry would only ever see one of them. Every
process therefore adds to shared Redis hashes instead, and ``/metrics`` renders those hashes:

- ``count(name, amount, **labels)`` adds to a counter (``HINCRBY``);
- ``observe(name, seconds, **labels)`` records one latency in a histogram with fixed buckets
  (one ``HINCRBY`` for the bucket, one for the count, one ``HINCRBYFLOAT`` for the sum, sent in
  one pipeline);
- ``batched()`` groups every count/observe made inside it into one pipeline, for callers that
  handle many frames at once;
- ``render()`` returns the exposition text, including the Celery queue depth read on scrape.

Recording never raises: a metrics failure must not break message handling. Failures are logged
at most once a minute per process.

Redis layout: one hash per metric, ``csms:metrics:c:<name>`` for counters and
``csms:metrics:h:<name>`` for histograms. A hash field is the label set encoded as a JSON list of
``[key, value]`` pairs sorted by key; histogram fields add ``|b<index>`` (bucket), ``|count`` or
``|sum`` after it. Buckets are stored non-cumulatively and summed when rendered.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from django.conf import settings
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

KEY_PREFIX = "csms:metrics:"
COUNTER_PREFIX = KEY_PREFIX + "c:"
HISTOGRAM_PREFIX = KEY_PREFIX + "h:"

# Upper bounds in seconds; +Inf is implicit. Chosen around the reply latencies that matter for
# OCPP: a few ms through the broker, and chargers giving up after about 30 s.
BUCKETS: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ERROR_LOG_INTERVAL = 60.0
REDIS_TIMEOUT = 0.5

# Every counter of frames, reconnections and latencies is labelled with its ``transport`` (mqtt: EMQX,
# our gateway and MQTT charger profiles; amqp: the RabbitMQ Web OCPP plugin), so that the transports
# of one deployment compare side by side.
HELP: dict[str, str] = {
    "csms_frames_in_total": "OCPP frames received from chargers, by action, outcome and transport.",
    "csms_frames_out_total": "OCPP frames published to chargers, by action, kind (result, error, call) and transport.",
    "csms_frames_rejected_total": "Inbound messages that could not be handled, by reason.",
    "csms_frames_unsent_total": "Frames for chargers left unsent (no profile, a profile taking no Calls), "
    "by reason, kind and transport.",
    "csms_frames_unroutable_total": "Downlinks the broker dropped because no charger queue is bound for them, "
    "by transport.",
    "csms_reply_latency_seconds": "Time from receiving a charger's Call to publishing our reply, by transport.",
    "csms_bridge_reconnects_total": "Reconnections of the bridge process's consumers to their broker, by transport.",
    "csms_bridge_enqueue_failures_total": "Batches the bridge could not hand to the Celery broker (retried).",
    "csms_frames_quarantined_total": "Inbound frames set aside as dead letters (see the admin), by reason.",
}
QUEUE_DEPTH_METRIC = "csms_celery_queue_depth"
STORE_UP_METRIC = "csms_metrics_store_up"

_client_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
_last_error_log = 0.0
_local = threading.local()


@dataclass
class _Batch:
    """Commands collected inside ``batched()``, sent as one pipeline when it exits."""

    commands: list[tuple[str, str, str, float]] = field(default_factory=list)


# --- recording -------------------------------------------------------------------------------


def count(name: str, amount: int = 1, **labels: str) -> None:
    """Add ``amount`` to the counter ``name`` with these labels. Never raises."""
    try:
        _send([("hincrby", COUNTER_PREFIX + name, encode_labels(labels), amount)])
    except Exception:  # metrics must never break the caller
        _log_failure()


def observe(name: str, seconds: float, **labels: str) -> None:
    """Record one observation of ``seconds`` in the histogram ``name``. Never raises."""
    try:
        key = HISTOGRAM_PREFIX + name
        base = encode_labels(labels)
        _send(
            [
                ("hincrby", key, f"{base}|b{bucket_index(seconds)}", 1),
                ("hincrby", key, f"{base}|count", 1),
                ("hincrbyfloat", key, f"{base}|sum", float(seconds)),
            ]
        )
    except Exception:  # metrics must never break the caller
        _log_failure()


@contextmanager
def batched() -> Iterator[None]:
    """Collect every count/observe made in this thread inside the block into one pipeline.

    Nested blocks join the outermost one. The pipeline is sent when the outermost block exits,
    even if the block raised; sending never raises.
    """
    if getattr(_local, "batch", None) is not None:
        yield
        return
    _local.batch = _Batch()
    try:
        yield
    finally:
        batch: _Batch = _local.batch
        _local.batch = None
        try:
            _execute(batch.commands)
        except Exception:  # metrics must never break the caller
            _log_failure()


def bucket_index(seconds: float) -> int:
    """Index of the first bucket whose upper bound holds ``seconds`` (len(BUCKETS) for +Inf)."""
    for index, bound in enumerate(BUCKETS):
        if seconds <= bound:
            return index
    return len(BUCKETS)


def encode_labels(labels: dict[str, str]) -> str:
    """Canonical hash field for a label set: JSON list of [key, value] pairs sorted by key."""
    return json.dumps(sorted((str(k), str(v)) for k, v in labels.items()), separators=(",", ":"))


def decode_labels(text: str) -> dict[str, str]:
    """Inverse of ``encode_labels``."""
    return {key: value for key, value in json.loads(text)}


def _send(commands: list[tuple[str, str, str, float]]) -> None:
    batch: _Batch | None = getattr(_local, "batch", None)
    if batch is not None:
        batch.commands.extend(commands)
        return
    _execute(commands)


def _execute(commands: list[tuple[str, str, str, float]]) -> None:
    if not commands:
        return
    pipe = get_redis().pipeline(transaction=False)
    for method, key, hash_field, amount in commands:
        getattr(pipe, method)(key, hash_field, amount)
    pipe.execute()


def _log_failure() -> None:
    global _last_error_log
    now = time.monotonic()
    if now - _last_error_log >= ERROR_LOG_INTERVAL or _last_error_log == 0.0:
        _last_error_log = now
        logger.warning("metrics: could not write to Redis (further errors muted for 60 s)", exc_info=True)


# --- Redis connections ---------------------------------------------------------------------------


def get_redis(url: str | None = None) -> redis.Redis:
    """A shared client for ``url`` (default settings.REDIS_URL) with short timeouts.

    redis-py's pool notices a fork and reconnects, so Celery's prefork children can share it.
    """
    url = url or settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _client_lock:
            client = _clients.get(url)
            if client is None:
                client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
                _clients[url] = client
    return client


def queue_depth() -> int:
    """Number of messages waiting in the Celery queue (LLEN of the queue's Redis list)."""
    broker_url = getattr(settings, "CELERY_BROKER_URL", None) or settings.REDIS_URL
    return int(get_redis(broker_url).llen(settings.CELERY_TASK_DEFAULT_QUEUE))


# --- rendering -----------------------------------------------------------------------------------


# A Redis hash as redis-py returns it: bytes, or str with decode_responses.
_RedisHash = dict[bytes | str, bytes | str]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _help(name: str) -> str:
    return HELP.get(name, f"{name} (recorded by the CSMS backoffice).")


def _label_names(label_sets: Iterable[dict[str, str]]) -> list[str]:
    names: set[str] = set()
    for labels in label_sets:
        names.update(labels)
    return sorted(names)


def counter_family(name: str, raw: _RedisHash) -> Metric:
    """A counter family from the Redis hash of ``name``."""
    samples = [(decode_labels(_text(k)), float(_text(v))) for k, v in raw.items()]
    names = _label_names(labels for labels, _ in samples)
    family = CounterMetricFamily(name, _help(name), labels=names)
    for labels, value in sorted(samples, key=lambda s: sorted(s[0].items())):
        family.add_metric([labels.get(n, "") for n in names], value)
    return family


@dataclass
class _Series:
    """One label set of a histogram as read from Redis."""

    buckets: list[float] = field(default_factory=lambda: [0.0] * (len(BUCKETS) + 1))
    total: float = 0.0


def _histogram_series(raw: _RedisHash) -> dict[str, _Series]:
    series: dict[str, _Series] = {}
    for key, value in raw.items():
        base, _, part = _text(key).rpartition("|")
        entry = series.setdefault(base, _Series())
        if part == "sum":
            entry.total = float(_text(value))
        elif part.startswith("b"):
            entry.buckets[int(part[1:])] = float(_text(value))
    return series


def histogram_family(name: str, raw: _RedisHash) -> Metric:
    """A histogram family from the Redis hash of ``name`` (buckets made cumulative)."""
    series = {base: (decode_labels(base), entry) for base, entry in _histogram_series(raw).items()}
    names = _label_names(labels for labels, _ in series.values())
    family = HistogramMetricFamily(name, _help(name), labels=names)
    bounds = [repr(b) for b in BUCKETS] + ["+Inf"]
    for _, (labels, entry) in sorted(series.items()):
        cumulative, running = [], 0.0
        for bound, value in zip(bounds, entry.buckets, strict=True):
            running += value
            cumulative.append((bound, running))
        family.add_metric([labels.get(n, "") for n in names], cumulative, entry.total)
    return family


class RedisCollector(Collector):
    """Reads every metric hash from Redis on each scrape."""

    def collect(self) -> Iterator[Metric]:
        """Yield counters, histograms, the queue depth gauge and whether Redis answered."""
        try:
            families = list(self._families())
            depth = float(queue_depth())
        except Exception:  # a scrape reports the failure instead of crashing
            logger.warning("metrics: could not read from Redis", exc_info=True)
            yield GaugeMetricFamily(STORE_UP_METRIC, "1 if the metrics store (Redis) answered.", value=0)
            return
        yield from families
        yield GaugeMetricFamily(QUEUE_DEPTH_METRIC, "Messages waiting in the Celery queue.", value=depth)
        yield GaugeMetricFamily(STORE_UP_METRIC, "1 if the metrics store (Redis) answered.", value=1)

    def _families(self) -> Iterator[Metric]:
        client = get_redis()
        for key in sorted(_text(k) for k in client.scan_iter(match=KEY_PREFIX + "*", count=500)):
            raw = client.hgetall(key)
            if key.startswith(COUNTER_PREFIX):
                yield counter_family(key[len(COUNTER_PREFIX) :], raw)
            elif key.startswith(HISTOGRAM_PREFIX):
                yield histogram_family(key[len(HISTOGRAM_PREFIX) :], raw)


def render() -> bytes:
    """Every metric in the Prometheus text exposition format (``CONTENT_TYPE``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector())
    return generate_latest(registry)


def reset(names: Iterable[str] | None = None) -> None:
    """Delete the stored metrics (all, or only ``names``). For tests and benchmarks."""
    client = get_redis()
    if names is None:
        keys = list(client.scan_iter(match=KEY_PREFIX + "*", count=500))
    else:
        keys = [prefix + name for name in names for prefix in (COUNTER_PREFIX, HISTOGRAM_PREFIX)]
    if keys:
        client.delete(*keys)
