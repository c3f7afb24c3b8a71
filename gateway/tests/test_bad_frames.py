"""Frames the gateway cannot publish (issue 14, item 5): answered when they are a readable Call, never
published, logged in one line, and the socket survives for the next good frame.

Through a real WebSocket client and the real MQTT broker. The poison frames are the fuzz run's:
deep nesting, huge integers, lone surrogates, NUL, oversized payloads.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from gateway import protocol
from gateway.tests.conftest import OCPP16, Backoffice, call_topic, new_cid


def ws_connect(url: str, cid: str) -> Any:
    return connect(f"{url}/{cid}", subprotocols=[OCPP16], max_size=None)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def data_transfer(unique_id: str, data: str) -> str:
    """A DataTransfer Call whose ``data`` is the raw JSON text ``data`` (the fuzz run's carrier)."""
    return f'[2,"{unique_id}","DataTransfer",{{"vendorId":"v","data":{data}}}]'


async def good_frame_published(ws: ClientConnection, backoffice: Backoffice, cid: str, unique_id: str) -> None:
    """The socket is open and the next good Call is published (and the refused one was not)."""
    assert ws.state is State.OPEN
    await ws.send(json.dumps([2, unique_id, "Heartbeat", {}]))
    body, _ = await asyncio.to_thread(backoffice.expect, call_topic(cid))
    assert body == {"MessageTypeId": 2, "UniqueId": unique_id, "Action": "Heartbeat", "Payload": {}}


POISON = [
    # (test id, frame, reason, 1.6 error code)
    ("depth-500", data_transfer("d500", nested(500)), "too_deep", "FormationViolation"),
    ("depth-1000", data_transfer("d1000", nested(1000)), "too_deep", "FormationViolation"),
    ("depth-100000", data_transfer("d100000", nested(100_000)), "too_deep", "FormationViolation"),
    ("integer-100000-digits", data_transfer("int", "1" * 100_000), "number_too_large", "PropertyConstraintViolation"),
    ("integer-past-64-bits", data_transfer("int64", str(2**63)), "number_too_large", "PropertyConstraintViolation"),
    ("infinity", data_transfer("inf", "1e999"), "not_finite", "PropertyConstraintViolation"),
    ("lone-surrogate", '[2,"sur","Authorize",{"idTag":"\\ud800"}]', "invalid_unicode", "FormationViolation"),
    ("nul", '[2,"nul","Authorize",{"idTag":"a\\u0000b"}]', "nul_character", "FormationViolation"),
    ("not-json", '[2,"nj","Heartbeat",{]', "not_json", "FormationViolation"),
    ("no-payload", '[2,"np","Heartbeat"]', "bad_structure", "ProtocolError"),
]


@pytest.mark.parametrize(("frame", "reason", "code"), [p[1:] for p in POISON], ids=[p[0] for p in POISON])
def test_poison_call_is_answered_and_the_socket_survives(
    start_gateway: Any, backoffice: Backoffice, frame: str, reason: str, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A frame limit above the largest poison frame, so each one meets its own limit, not the size's.
    gw = start_gateway(allow_anonymous=True, max_frame_bytes=256 * 1024)
    cid = new_cid("bad")
    unique_id = json.loads(frame[: frame.index('",') + 1] + "]")[1]

    async def scenario() -> list[Any]:
        async with ws_connect(gw.url, cid) as ws:
            await ws.send(frame)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            await good_frame_published(ws, backoffice, cid, "after")
            return answer

    with caplog.at_level(logging.WARNING, logger="gateway.server"):
        answer = asyncio.run(scenario())
    assert answer[:3] == [protocol.CALLERROR, unique_id, code]
    assert isinstance(answer[3], str) and answer[3] and answer[4] == {}
    assert gw.gateway.counters[f"frames_malformed_{reason}"] == 1
    assert gw.gateway.counters["frames_up"] == 1  # the good frame only
    # One line, no traceback: reason, charger, message id, size.
    refused = [r for r in caplog.records if "frame refused" in r.getMessage()]
    assert len(refused) == 1
    line = refused[0].getMessage()
    assert "\n" not in line and refused[0].exc_info is None
    assert cid in line and reason in line and repr(unique_id) in line and f"{len(frame.encode())} bytes" in line


def test_oversized_call_with_a_readable_id_is_answered(start_gateway: Any, backoffice: Backoffice) -> None:
    """A 100 KB Call over the default 64 KiB limit: its id is read from the first bytes and answered."""
    gw = start_gateway(allow_anonymous=True)
    assert gw.gateway.config.max_frame_bytes == 65536
    cid = new_cid("bad")
    frame = data_transfer("big", json.dumps("x" * 100_000))

    async def scenario() -> list[Any]:
        async with ws_connect(gw.url, cid) as ws:
            await ws.send(frame)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            await good_frame_published(ws, backoffice, cid, "after-big")
            return answer

    answer = asyncio.run(scenario())
    assert answer[:3] == [4, "big", "FormationViolation"]
    assert "exceeds" in answer[3]
    assert gw.gateway.counters["frames_malformed_oversized"] == 1


def test_frame_past_four_times_the_limit_still_closes_the_socket(start_gateway: Any) -> None:
    """The library's own limit (1009 Message Too Big) stays, four times ours: such a frame is not read."""
    gw = start_gateway(allow_anonymous=True, max_frame_bytes=1024)
    cid = new_cid("bad")

    async def scenario() -> int | None:
        async with ws_connect(gw.url, cid) as ws:
            await ws.send(data_transfer("huge", json.dumps("x" * 4 * 1024)))
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(5):
                    while True:
                        await ws.recv()
            return ws.close_code

    assert asyncio.run(scenario()) == 1009


def test_poison_with_an_unreadable_id_is_dropped_unanswered(start_gateway: Any, backoffice: Backoffice) -> None:
    """Deep nesting with no readable Call id (a number for an id, a CallResult): nothing to answer, still counted."""
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid("bad")

    async def scenario() -> None:
        async with ws_connect(gw.url, cid) as ws:
            await ws.send(f'[2,17,"DataTransfer",{{"vendorId":"v","data":{nested(1000)}}}]')
            await ws.send(f'[3,"r1",{{"data":{nested(1000)}}}]')
            await good_frame_published(ws, backoffice, cid, "after")
            # Had either been answered, the answer would be here before anything else.
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await ws.recv()

    asyncio.run(scenario())
    assert gw.gateway.counters["frames_malformed_too_deep"] == 2
    assert gw.gateway.counters["callerrors_sent"] == 0


def test_several_bad_frames_in_a_row_then_good_ones(start_gateway: Any, backoffice: Backoffice) -> None:
    """A burst of poison on one socket: every Call answered once, in order, and the socket carries on."""
    gw = start_gateway(allow_anonymous=True, max_frame_bytes=256 * 1024)
    cid = new_cid("bad")
    poison = [frame for _, frame, _, _ in POISON]

    async def scenario() -> list[str]:
        async with ws_connect(gw.url, cid) as ws:
            for frame in poison:
                await ws.send(frame)
            answers = [json.loads(await asyncio.wait_for(ws.recv(), 5))[1] for _ in poison]
            for i in range(3):
                await good_frame_published(ws, backoffice, cid, f"after-{i}")
            return answers

    answered = asyncio.run(scenario())
    assert answered == [json.loads(frame[: frame.index('",') + 1] + "]")[1] for frame in poison]
    assert gw.gateway.counters["callerrors_sent"] == len(poison)
    assert gw.gateway.counters["frames_up"] == 3


@pytest.mark.parametrize(
    ("frame", "version", "code"),
    [
        (data_transfer("d", nested(100)), "1.6", "FormationViolation"),
        (data_transfer("d", nested(100)), "2.0.1", "FormatViolation"),
        ('[2,"d","Heartbeat"]', "2.0.1", "RpcFrameworkError"),
        ('[7,"d",{}]', "2.0.1", "MessageTypeNotSupported"),
    ],
)
def test_error_codes_in_the_sockets_ocpp_version(frame: str, version: str, code: str) -> None:
    with pytest.raises(protocol.FrameError) as refused:
        protocol.upstream_from_frame(frame, max_bytes=65536, max_depth=32, ocpp_version=version)
    assert refused.value.answer() == [4, "d", code, refused.value.description, {}]


def test_unknown_message_type_goes_unanswered_in_1_6() -> None:
    """1.6 has no error code for it and says nothing about it: dropped, as before."""
    with pytest.raises(protocol.FrameError) as refused:
        protocol.upstream_from_frame('[7,"d",{}]', max_bytes=65536, max_depth=32, ocpp_version="1.6")
    assert refused.value.answer() is None


def test_action_that_would_break_the_call_topic_is_answered_not_implemented(
    start_gateway: Any, backoffice: Backoffice
) -> None:
    """With a per-action Call topic, an action holding a topic wildcard would make the MQTT client raise."""
    per_action = call_topic("{cid}") + "/{action}"
    gw = start_gateway(allow_anonymous=True, topic_call=per_action)
    cid = new_cid("bad")

    async def scenario() -> list[Any]:
        async with ws_connect(gw.url, cid) as ws:
            await ws.send('[2,"w","Heart/#",{}]')
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ws.state is State.OPEN
            await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            heartbeat_topic = per_action.replace("{cid}", cid).replace("{action}", "Heartbeat")
            body, _ = await asyncio.to_thread(backoffice.expect, heartbeat_topic)
            assert body["UniqueId"] == "hb"
            return answer

    assert asyncio.run(scenario())[:3] == [4, "w", "NotImplemented"]
