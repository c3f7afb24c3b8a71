"""Our gateway's ``ocpp2.1`` sockets: negotiated, published on the 2.1 route's topics, and OCPP 2.1's
framing: a SEND goes out with the Calls and a CALLRESULTERROR with the results, neither ever answered;
a malformed one is one log line and a counter, nothing answered, the socket stays open."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from gateway import protocol
from gateway.server import GatewayConfig
from gateway.tests.conftest import RUN, TOPICS, Backoffice, new_cid

OCPP21 = Subprotocol("ocpp2.1")
OCPP201 = Subprotocol("ocpp2.0.1")
OCPP16 = Subprotocol("ocpp1.6")
V21_TOPICS = {
    "topic_call_v21": f"gwtest-{RUN}/ocpp/v21/cp/{{cid}}",
    "topic_reply_v21": f"gwtest-{RUN}/ocpp/v21/cp/{{cid}}/Reply",
}
NOTIFY = {"id": 1, "pending": 0, "basetime": "2026-12-01T10:00:00Z", "data": [{"t": 0, "v": "1"}]}


def call_topic(cid: str) -> str:
    return V21_TOPICS["topic_call_v21"].replace("{cid}", cid)


def reply_topic(cid: str) -> str:
    return V21_TOPICS["topic_reply_v21"].replace("{cid}", cid)


def test_ocpp21_is_spoken_after_ocpp201(start_gateway: Any) -> None:
    gw = start_gateway(allow_anonymous=True, **V21_TOPICS)

    async def negotiated(offered: list[Subprotocol]) -> str | None:
        async with connect(f"{gw.url}/{new_cid('sp')}", subprotocols=offered) as ws:
            return ws.subprotocol

    async def scenario() -> list[str | None]:
        return [
            await negotiated([OCPP21]),
            await negotiated([OCPP21, OCPP16]),
            await negotiated([OCPP21, OCPP201]),
        ]

    assert asyncio.run(scenario()) == ["ocpp2.1", "ocpp2.1", "ocpp2.0.1"]
    assert gw.gateway.config.spoken_subprotocols == ["ocpp2.0.1", "ocpp2.1", "ocpp1.6"]
    assert GatewayConfig(topic_call_v21="").routes.keys() == {"1.6", "2.0.1"}


def test_every_kind_of_2_1_frame_goes_to_the_2_1_topics(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True, **V21_TOPICS)
    cid = new_cid("v21")

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP21]) as ws:
            await ws.send(json.dumps([2, "c", "Heartbeat", {}]))
            await ws.send(json.dumps([6, "s", "NotifyPeriodicEventStream", NOTIFY]))
            await ws.send(json.dumps([3, "r", {"status": "Accepted"}]))
            await ws.send(json.dumps([5, "x", "FormatViolation", "bad currentTime", {"field": "currentTime"}]))
            await asyncio.sleep(0.3)

    asyncio.run(scenario())
    got = [backoffice.expect(call_topic(cid))[0], backoffice.expect(call_topic(cid))[0]]
    assert got == [
        {"MessageTypeId": 2, "UniqueId": "c", "Action": "Heartbeat", "Payload": {}},
        {"MessageTypeId": 6, "UniqueId": "s", "Action": "NotifyPeriodicEventStream", "Payload": NOTIFY},
    ]
    replies = [backoffice.expect(reply_topic(cid))[0], backoffice.expect(reply_topic(cid))[0]]
    assert replies == [
        {"MessageTypeId": 3, "UniqueId": "r", "Payload": {"status": "Accepted"}},
        {
            "MessageTypeId": 5,
            "UniqueId": "x",
            "ErrorCode": "FormatViolation",
            "ErrorDescription": "bad currentTime",
            "ErrorDetails": {"field": "currentTime"},
        },  # fmt: skip
    ]
    assert (gw.gateway.counters["frames_up_send"], gw.gateway.counters["frames_up_callresulterror"]) == (1, 1)


MALFORMED = [
    '[6,"s","NotifyPeriodicEventStream"]',
    '[6,"s","NotifyPeriodicEventStream",[]]',
    '[6,"s",7,{}]',
    '[6,17,"NotifyPeriodicEventStream",{}]',
    json.dumps([6, "x" * 37, "NotifyPeriodicEventStream", {}]),
    "[6]",
    '[5,"x"]',
    '[5,"x",4,"no"]',
    '[6,"s","NotifyPeriodicEventStream",{"v":1e999}]',
]


@pytest.mark.parametrize("frame", MALFORMED)
def test_a_malformed_send_or_callresulterror_is_never_answered(frame: str) -> None:
    with pytest.raises(protocol.FrameError) as refused:
        protocol.upstream_from_frame(frame, max_bytes=65536, max_depth=32, ocpp_version="2.1")
    assert refused.value.answer() is None


@pytest.mark.parametrize("version", ["2.0.1", "1.6"])
def test_types_5_and_6_are_unknown_to_older_sockets(version: str) -> None:
    for frame in ('[6,"s","NotifyPeriodicEventStream",{}]', '[5,"x","FormatViolation","no",{}]'):
        with pytest.raises(protocol.FrameError) as refused:
            protocol.upstream_from_frame(frame, ocpp_version=version)
        answer = refused.value.answer()
        if version == "1.6":
            assert answer is None
        else:
            assert answer is not None and answer[2] == "MessageTypeNotSupported"


def test_2_1_answers_unreadable_calls_as_2_0_1(start_gateway: Any) -> None:
    for frame, expected in [
        ("garbage", [4, "-1", "RpcFrameworkError"]),
        ('[7,"mt",{}]', [4, "mt", "MessageTypeNotSupported"]),
        ('[2,"np","Heartbeat"]', [4, "np", "RpcFrameworkError"]),
    ]:
        with pytest.raises(protocol.FrameError) as refused:
            protocol.upstream_from_frame(frame, ocpp_version="2.1")
        answer = refused.value.answer()
        assert answer is not None and answer[:3] == expected


def test_a_malformed_send_through_the_socket_is_logged_counted_unanswered_and_the_socket_stays_open(
    start_gateway: Any, backoffice: Backoffice, caplog: pytest.LogCaptureFixture
) -> None:
    gw = start_gateway(allow_anonymous=True, **V21_TOPICS)
    cid = new_cid("v21bad")
    caplog.set_level(logging.WARNING, logger="gateway.server")

    async def scenario() -> list[str]:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP21]) as ws:
            await ws.send('[6,"s","NotifyPeriodicEventStream"]')
            await ws.send('[5,"x"]')
            await ws.send(json.dumps([2, "after", "Heartbeat", {}]))
            body, _ = await asyncio.to_thread(backoffice.expect, call_topic(cid))
            received: list[str] = []
            with pytest.raises(TimeoutError):
                received.append(str(await asyncio.wait_for(ws.recv(), 0.5)))
            return [body["UniqueId"], *received]

    assert asyncio.run(scenario()) == ["after"]  # the good frame went out; nothing came back
    assert gw.gateway.counters["frames_malformed"] == 2
    assert gw.gateway.counters["callerrors_sent"] == 0
    lines = [r for r in caplog.records if "frame refused" in r.getMessage() and "not answered" in r.getMessage()]
    assert len(lines) == 2 and all(r.exc_info is None for r in lines)


def test_the_2_1_topics_come_from_settings(settings: Any) -> None:
    settings.CSMS_TOPIC_CALL_V21 = "site/v21/{cid}/up"
    settings.CSMS_TOPIC_REPLY_V21 = "site/v21/{cid}/reply"
    config = GatewayConfig.from_settings(**{k: v for k, v in TOPICS.items() if "v21" not in k})
    assert (config.routes["2.1"].call, config.routes["2.1"].reply) == ("site/v21/{cid}/up", "site/v21/{cid}/reply")
