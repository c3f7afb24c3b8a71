"""Cost of the bounded decoder against the one it replaced, on realistic frames (``python -m bench.decode``).

Prints microseconds per frame (best of several timing rounds, one process, no services):

- ``before``: the old bridge decoder, ``json.loads`` plus the NUL check (a walk only when the bytes
  hold a NUL escape);
- ``stdlib+walk``: the stdlib decoder with an iterative walk of every frame for what the limits need
  (depth, NUL, lone surrogates, finite numbers, 64-bit integers): the alternative to orjson;
- ``after``: ``mqtt_bridge.decoding.loads``;
- ``dialects``: the whole ``dialects.decode`` of the bridge (decoder and envelope), for scale.

The frames are the bench's own (``bench.payloads``): a MeterValues with nine sampled values in
the EMQX envelope and as an OCPP-J array, a BootNotification and a Heartbeat; then two frames
that take the decoder's slower paths (a MeterValues with four meter values, more brackets than
the depth limit; a BootNotification whose ICCID is a run of 19 digits or more).

Measured here (2 cores shared with other work; best of 9 interleaved rounds, us per frame):

    frame                               bytes   before  stdlib+walk    after  dialects
    MeterValues (9 values, EMQX)         1484    14.24        31.76     9.76     15.17
    MeterValues (9 values, OCPP-J)       1434    13.60        31.02     9.59     14.85
    BootNotification (EMQX)               256     4.45         6.12     2.45      7.38
    Heartbeat (EMQX)                       84     3.46         4.70     1.76      6.72
    MeterValues (36 values, EMQX)        5513    42.60        96.69    42.01     48.00
    BootNotification + ICCID (EMQX)       288     4.67         6.52     3.06      8.19

The bounded decoder costs 30-50% less than the unbounded one on the common frames, the same on
a bracket-heavy one (the depth scan of its bytes eats orjson's gain), and the alternative (stdlib
and a walk) would have cost two to three times as much.
"""

from __future__ import annotations

import json
import math
import os
import sys
import timeit
from collections.abc import Callable
from typing import Any

from bench import payloads

DEPTH = 32
MAX_BYTES = 65536


def _frames() -> dict[str, bytes]:
    def emqx(action: str, payload: dict[str, Any]) -> bytes:
        return json.dumps({"MessageTypeId": 2, "UniqueId": "3335862321", "Action": action, "Payload": payload}).encode()

    meter = payloads.meter_values(1, 1042, 123456, 7200.0, 55.0)
    long_meter = {**meter, "meterValue": [payloads.meter_sample(123456 + i, 7200.0, 55.0) for i in range(4)]}
    boot = payloads.boot_notification("SERIAL-000123")
    return {
        "MeterValues (9 values, EMQX)": emqx("MeterValues", meter),
        "MeterValues (9 values, OCPP-J)": json.dumps([2, "3335862321", "MeterValues", meter]).encode(),
        "BootNotification (EMQX)": emqx("BootNotification", boot),
        "Heartbeat (EMQX)": emqx("Heartbeat", payloads.heartbeat()),
        "MeterValues (36 values, EMQX)": emqx("MeterValues", long_meter),
        "BootNotification + ICCID (EMQX)": emqx("BootNotification", {**boot, "iccid": "8944500102198304826"}),
    }


def _contains_nul(data: Any) -> bool:
    """The old dialects._contains_nul."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending += value.keys()
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return False


def before(payload: bytes) -> Any:
    data = json.loads(payload)
    if (b"\\u0000" in payload or b"\x00" in payload) and _contains_nul(data):
        raise ValueError("NUL")
    return data


def stdlib_walk(payload: bytes) -> Any:
    """The alternative: stdlib parse, then every limit checked by one iterative walk of every frame.

    (A real one would also need a depth pre-scan before parsing: the stdlib decoder overflows the
    stack near 1,000 levels. Left out, which only flatters it.)
    """
    data = json.loads(payload)
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value or not value.isascii() and _lone_surrogate(value):
                raise ValueError("string")
        elif isinstance(value, dict):
            if depth > DEPTH:
                raise ValueError("deep")
            for key, item in value.items():
                if "\x00" in key:
                    raise ValueError("NUL")
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > DEPTH:
                raise ValueError("deep")
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError("number")
        elif isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise ValueError("number")
    return data


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _per_frame_us(functions: list[Callable[[], Any]], *, rounds: int = 9, number: int = 500) -> list[float]:
    """Best time per call of each function; rounds interleave them, so a busy moment hits all alike."""
    best = [math.inf] * len(functions)
    for _ in range(rounds):
        for index, function in enumerate(functions):
            best[index] = min(best[index], timeit.timeit(function, number=number) / number * 1e6)
    return best


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    import django

    django.setup()
    from mqtt_bridge import decoding, dialects
    from mqtt_bridge.frames import utcnow
    from mqtt_bridge.topics import Route, TopicMatch

    match = TopicMatch(Route.CALL, "CP-1")
    received_at = utcnow()
    print(f"{'frame':34} {'bytes':>6} {'before':>8} {'stdlib+walk':>12} {'after':>8} {'dialects':>9}  (us per frame)")
    for name, frame in _frames().items():
        assert before(frame) == stdlib_walk(frame) == decoding.loads(frame, max_depth=DEPTH, max_bytes=MAX_BYTES)
        # Closures over this function's own frame, not the loop variable (no late binding, and typed for mypy,
        # which cannot infer a lambda's default argument).
        def decoders(frame: bytes = frame) -> list[Callable[[], Any]]:
            return [
                lambda: before(frame),
                lambda: stdlib_walk(frame),
                lambda: decoding.loads(frame, max_depth=DEPTH, max_bytes=MAX_BYTES),
                lambda: dialects.decode(
                    topic="ocpp/cp/CP-1", match=match, payload=frame, received_at=received_at, max_bytes=MAX_BYTES
                ),
            ]

        figures = _per_frame_us(decoders())
        print(f"{name:34} {len(frame):>6} {figures[0]:>8.2f} {figures[1]:>12.2f} {figures[2]:>8.2f} {figures[3]:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
