"""bench/decode.py compares decoders on the bench's frames: they must agree on every one of them."""

from __future__ import annotations

from bench import decode
from mqtt_bridge import decoding


def test_the_old_and_the_bounded_decoder_agree_on_the_bench_frames() -> None:
    for frame in decode._frames().values():
        expected = decode.before(frame)
        assert decode.stdlib_walk(frame) == expected
        assert decoding.loads(frame, max_depth=decode.DEPTH, max_bytes=decode.MAX_BYTES) == expected
