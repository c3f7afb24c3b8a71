"""Subprotocol negotiation (issue 15, item 1): ocpp2.0.1 and ocpp1.6 on one gateway, each socket's
frames on its version's MQTT topics, read back from the real broker; downlinks to a 2.0.1 socket; the
2.0.1 spelling of the CallErrors the gateway answers itself.

Real WebSocket clients (websockets, and the ``ocpp`` package's 2.0.1 ChargePoint) against a real
gateway and the real broker; a plain paho client plays the backoffice.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from typing import Any

import pytest
from ocpp.v201 import ChargePoint, call
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.protocol import State
from websockets.typing import Subprotocol

from gateway import protocol
from gateway.server import GatewayConfig
from gateway.tests.conftest import OCPP16, RUN, TOPICS, Backoffice, call_topic, new_cid, reply_topic

OCPP201 = Subprotocol("ocpp2.0.1")
PRESENCE_PREFIX = f"gwtest-{RUN}/presence/csms-gateway@127.0.0.1"


def call_topic_v201(cid: str) -> str:
    return TOPICS["topic_call_v201"].replace("{cid}", cid)


def reply_topic_v201(cid: str) -> str:
    return TOPICS["topic_reply_v201"].replace("{cid}", cid)


def ws_connect(url: str, cid: str, subprotocols: list[Subprotocol]) -> Any:
    return connect(f"{url}/{cid}", subprotocols=subprotocols, max_size=None)


async def negotiated(url: str, offered: list[Subprotocol]) -> str | None:
    async with ws_connect(url, new_cid("sp"), offered) as ws:
        return ws.subprotocol


async def handshake_status(url: str, offered: list[Subprotocol]) -> int:
    try:
        async with ws_connect(url, new_cid("sp"), offered):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_a_charger_offering_both_gets_ocpp201_whatever_its_order(start_gateway: Any) -> None:
    gw = start_gateway(allow_anonymous=True)

    async def scenario() -> list[str | None]:
        return [
            await negotiated(gw.url, [OCPP201, OCPP16]),
            await negotiated(gw.url, [OCPP16, OCPP201]),
            await negotiated(gw.url, [Subprotocol("ocpp2.1"), OCPP201, OCPP16]),
        ]

    assert asyncio.run(scenario()) == ["ocpp2.0.1", "ocpp2.0.1", "ocpp2.0.1"]


def test_a_charger_offering_only_one_gets_it(start_gateway: Any) -> None:
    gw = start_gateway(allow_anonymous=True)

    async def scenario() -> list[str | None]:
        return [await negotiated(gw.url, [OCPP16]), await negotiated(gw.url, [OCPP201])]

    assert asyncio.run(scenario()) == ["ocpp1.6", "ocpp2.0.1"]


def test_the_preference_is_configurable(start_gateway: Any, settings: Any) -> None:
    """CSMS_GATEWAY_SUBPROTOCOLS="ocpp1.6,ocpp2.0.1": a charger offering both gets 1.6."""
    settings.CSMS_GATEWAY_SUBPROTOCOLS = ["ocpp1.6", "ocpp2.0.1"]
    gw = start_gateway(allow_anonymous=True)
    assert gw.gateway.config.subprotocols == ["ocpp1.6", "ocpp2.0.1"]

    async def scenario() -> list[str | None]:
        return [await negotiated(gw.url, [OCPP201, OCPP16]), await negotiated(gw.url, [OCPP201])]

    assert asyncio.run(scenario()) == ["ocpp1.6", "ocpp2.0.1"]


def test_a_gateway_set_to_one_version_refuses_the_other(start_gateway: Any) -> None:
    gw = start_gateway(allow_anonymous=True, subprotocols=["ocpp1.6"])

    async def scenario() -> list[int | str | None]:
        return [
            await handshake_status(gw.url, [OCPP201]),
            await negotiated(gw.url, [OCPP201, OCPP16]),
            await handshake_status(gw.url, [Subprotocol("ocpp2.1")]),
        ]

    assert asyncio.run(scenario()) == [400, "ocpp1.6", 400]
    assert gw.gateway.counters["handshake_no_subprotocol"] == 2


def test_an_empty_v201_topic_turns_ocpp201_off(start_gateway: Any) -> None:
    """The bridge then has no 2.0.1 route: the gateway must not accept frames it would publish nowhere."""
    gw = start_gateway(allow_anonymous=True, topic_call_v201="")

    async def scenario() -> list[int | str | None]:
        return [await negotiated(gw.url, [OCPP201, OCPP16]), await handshake_status(gw.url, [OCPP201])]

    assert asyncio.run(scenario()) == ["ocpp1.6", 400]


def test_the_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown"):
        GatewayConfig(subprotocols=["ocpp2.0.1", "ocpp16"])
    with pytest.raises(ValueError, match="topics"):
        GatewayConfig(subprotocols=["ocpp2.0.1"], topic_reply_v201="")
    assert GatewayConfig().spoken_subprotocols == ["ocpp2.0.1", "ocpp1.6"]


def test_the_v201_topics_come_from_settings(settings: Any) -> None:
    settings.CSMS_TOPIC_CALL_V201 = "site/v201/{cid}/up"
    settings.CSMS_TOPIC_REPLY_V201 = "site/v201/{cid}/reply"
    config = GatewayConfig.from_settings()
    assert config.routes["2.0.1"].call == "site/v201/{cid}/up"
    assert config.routes["2.0.1"].reply == "site/v201/{cid}/reply"
    assert config.routes["1.6"].call == settings.CSMS_TOPIC_CALL


def collect(backoffice: Backoffice, prefix: str, count: int, timeout: float = 5.0) -> list[tuple[str, Any]]:
    """The first ``count`` messages on topics starting with ``prefix``, then whatever else comes within 0.5 s."""
    seen: list[tuple[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(seen) < count and (remaining := deadline - time.monotonic()) > 0:
        try:
            topic, body, _ = backoffice.messages.get(timeout=remaining)
        except queue.Empty:
            break
        if topic.startswith(prefix):
            seen.append((topic, body))
    return seen + backoffice.nothing_on(prefix, wait=0.5)


def test_201_frames_go_to_the_v201_topics_and_16_frames_stay_where_they_were(
    start_gateway: Any, backoffice: Backoffice
) -> None:
    """Every kind of frame from a 2.0.1 socket, as the EMQX envelope on the v201 topics; a 1.6 socket
    on the same gateway publishes exactly as before. Nothing crosses over."""
    gw = start_gateway(allow_anonymous=True)
    new, old = new_cid("v201"), new_cid("v16")

    async def scenario() -> None:
        async with ws_connect(gw.url, new, [OCPP201, OCPP16]) as ws201, ws_connect(gw.url, old, [OCPP16]) as ws16:
            assert (ws201.subprotocol, ws16.subprotocol) == ("ocpp2.0.1", "ocpp1.6")
            await ws201.send(json.dumps([2, "h201", "Heartbeat", {}]))
            await ws16.send(json.dumps([2, "h16", "Heartbeat", {}]))
            await ws201.send(json.dumps([3, "c201", {"status": "Accepted"}]))
            await ws201.send(json.dumps([4, "e201", "NotImplemented", "no", {"x": 1}]))
            await ws16.send(json.dumps([3, "c16", {"status": "Accepted"}]))
            await ws16.send(json.dumps([4, "e16", "NotSupported", "no", {}]))
            await asyncio.sleep(0.2)  # all read by the gateway before the sockets close

    asyncio.run(scenario())
    published = collect(backoffice, f"gwtest-{RUN}/ocpp/", 6)
    expected = [
        (call_topic_v201(new), {"MessageTypeId": 2, "UniqueId": "h201", "Action": "Heartbeat", "Payload": {}}),
        (reply_topic_v201(new), {"MessageTypeId": 3, "UniqueId": "c201", "Payload": {"status": "Accepted"}}),
        (
            reply_topic_v201(new),
            {"MessageTypeId": 4, "UniqueId": "e201", "ErrorCode": "NotImplemented", "ErrorDescription": "no"},
        ),
        (call_topic(old), {"MessageTypeId": 2, "UniqueId": "h16", "Action": "Heartbeat", "Payload": {}}),
        (reply_topic(old), {"MessageTypeId": 3, "UniqueId": "c16", "Payload": {"status": "Accepted"}}),
        (
            reply_topic(old),
            {"MessageTypeId": 4, "UniqueId": "e16", "ErrorCode": "NotSupported", "ErrorDescription": "no"},
        ),
    ]
    assert sorted(published, key=repr) == sorted(expected, key=repr)
    assert call_topic_v201(new) == f"gwtest-{RUN}/ocpp/v201/cp/{new}"


def test_a_per_action_v201_call_topic(start_gateway: Any, backoffice: Backoffice) -> None:
    per_action = TOPICS["topic_call_v201"] + "/{action}"
    gw = start_gateway(allow_anonymous=True, topic_call_v201=per_action)
    cid = new_cid("v201")

    async def scenario() -> list[Any]:
        async with ws_connect(gw.url, cid, [OCPP201]) as ws:
            await ws.send('[2,"w","Heart+",{}]')
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            topic = per_action.replace("{cid}", cid).replace("{action}", "Heartbeat")
            body, _ = await asyncio.to_thread(backoffice.expect, topic)
            assert body["UniqueId"] == "hb"
            return answer

    assert asyncio.run(scenario())[:3] == [4, "w", "NotImplemented"]


def test_a_201_charger_boots_through_the_gateway(start_gateway: Any, backoffice: Backoffice) -> None:
    """The ``ocpp`` package's 2.0.1 ChargePoint: its BootNotification reaches the v201 topic, our
    reply on the (one) downstream topic reaches its socket, and the Accepted interval is the
    socket's keepalive, as for 1.6."""
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid("v201")

    async def scenario() -> tuple[Any, Any]:
        async with ws_connect(gw.url, cid, [OCPP201, OCPP16]) as ws:
            charger = ChargePoint(cid, ws)
            receiver = asyncio.create_task(charger.start())
            boot = asyncio.create_task(
                charger.call(
                    call.BootNotification(charging_station={"model": "m1", "vendor_name": "v1"}, reason="PowerUp")
                )
            )
            body, _ = await asyncio.to_thread(backoffice.expect, call_topic_v201(cid))
            assert body["Action"] == "BootNotification"
            assert body["Payload"] == {"chargingStation": {"model": "m1", "vendorName": "v1"}, "reason": "PowerUp"}
            reply = {"currentTime": "2026-11-22T14:20:39Z", "interval": 120, "status": "Accepted"}
            await asyncio.to_thread(
                backoffice.send, cid, {"MessageTypeId": 3, "UniqueId": body["UniqueId"], "Payload": reply}
            )
            result = await asyncio.wait_for(boot, 5)
            assert gw.gateway.sessions[cid].interval == 120  # set before the reply was written to the socket
            # a raw OCPP-J downlink (a command) reaches the socket too; the ocpp package has no handler
            # for it and answers with a CallError, which goes to the v201 Reply topic
            await asyncio.to_thread(backoffice.send, cid, [2, "g1", "GetVariables", {"getVariableData": []}])
            answer, _ = await asyncio.to_thread(backoffice.expect, reply_topic_v201(cid))
            receiver.cancel()
            return result, answer

    result, answer = asyncio.run(scenario())
    assert (result.status, result.interval) == ("Accepted", 120)
    assert (answer["MessageTypeId"], answer["UniqueId"]) == (4, "g1")
    assert gw.gateway.counters["frames_down"] == 2


def test_presence_says_the_negotiated_version(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True)
    new, old = new_cid("v201"), new_cid("v16")

    async def scenario() -> None:
        async with ws_connect(gw.url, new, [OCPP201, OCPP16]), ws_connect(gw.url, old, [OCPP16]):
            await asyncio.sleep(0.1)

    asyncio.run(scenario())
    announced = {topic: body["proto_ver"] for topic, body in collect(backoffice, PRESENCE_PREFIX, 4)}
    assert announced == {
        f"{PRESENCE_PREFIX}/{new}/connected": "2.0.1",
        f"{PRESENCE_PREFIX}/{new}/disconnected": "2.0.1",
        f"{PRESENCE_PREFIX}/{old}/connected": "1.6",
        f"{PRESENCE_PREFIX}/{old}/disconnected": "1.6",
    }


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# (test id, frame, the gateway's answer on a 2.0.1 socket: [4, id, code] or None)
BAD_FRAMES_201 = [
    ("too-deep", '[2,"d","DataTransfer",{"vendorId":"v","data":' + nested(100) + "}]", [4, "d", "FormatViolation"]),
    ("not-json-readable-id", '[2,"nj","Heartbeat",{]', [4, "nj", "FormatViolation"]),
    (
        "huge-integer",
        '[2,"int","DataTransfer",{"vendorId":"v","data":' + "9" * 40 + "}]",
        [4, "int", "PropertyConstraintViolation"],
    ),
    ("no-payload", '[2,"np","Heartbeat"]', [4, "np", "RpcFrameworkError"]),
    ("unknown-type", '[7,"mt",{}]', [4, "mt", "MessageTypeNotSupported"]),
    ("not-json", "garbage", [4, "-1", "RpcFrameworkError"]),
    (
        "not-an-array",
        '{"MessageTypeId":2,"UniqueId":"env","Action":"Heartbeat","Payload":{}}',
        [4, "-1", "RpcFrameworkError"],
    ),
    ("empty-array", "[]", [4, "-1", "RpcFrameworkError"]),
    ("type-not-an-integer", '["2","s","Heartbeat",{}]', [4, "s", "RpcFrameworkError"]),
    ("call-without-id", '[2,7,"Heartbeat",{}]', [4, "-1", "RpcFrameworkError"]),
    ("id-too-long", json.dumps([2, "x" * 37, "Heartbeat"]), [4, "-1", "RpcFrameworkError"]),
    ("result-without-id", "[3]", None),
    ("bad-result", '[3,"r"]', None),
    ("too-deep-result", '[3,"r",' + nested(100) + "]", None),
]


@pytest.mark.parametrize(("frame", "answer"), [b[1:] for b in BAD_FRAMES_201], ids=[b[0] for b in BAD_FRAMES_201])
def test_bad_frames_get_the_201_spelling(frame: str, answer: list[Any] | None) -> None:
    """OCPP-J 2.0.1 (part 4, 4.2.3, 4.3): FormatViolation, RpcFrameworkError (to "-1" when the message id
    cannot be read), MessageTypeNotSupported; a result or an error is never answered."""
    with pytest.raises(protocol.FrameError) as refused:
        protocol.upstream_from_frame(frame, max_bytes=65536, max_depth=32, ocpp_version="2.0.1")
    got = refused.value.answer()
    if answer is None:
        assert got is None
    else:
        assert got is not None and got[:3] == answer and got[4] == {} and got[3] == refused.value.description[:255]


@pytest.mark.parametrize(
    "frame",
    ["garbage", "[]", '{"MessageTypeId":2}', '["2","s","Heartbeat",{}]', '[2,7,"Heartbeat",{}]', '[7,"mt",{}]'],
)
def test_the_same_frames_go_unanswered_on_16(frame: str) -> None:
    """1.6 says nothing about a frame that is no readable RPC message: dropped, as before."""
    with pytest.raises(protocol.FrameError) as refused:
        protocol.upstream_from_frame(frame, max_bytes=65536, max_depth=32, ocpp_version="1.6")
    assert refused.value.answer() is None


def test_a_201_socket_is_answered_in_201_and_stays_open(start_gateway: Any, backoffice: Backoffice) -> None:
    """Through the socket: the answers a 1.6 socket gets differently (or not at all), and the next
    good frame still goes out."""
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid("v201")
    frames = ['[2,"np","Heartbeat"]', "garbage", '[7,"mt",{}]', '[2,"d","Heartbeat",' + nested(100) + "]", "[3]"]

    async def scenario() -> list[list[Any]]:
        async with ws_connect(gw.url, cid, [OCPP201]) as ws:
            for frame in frames:
                await ws.send(frame)
            answers = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(4)]
            assert ws.state is State.OPEN
            await ws.send(json.dumps([2, "ok", "Heartbeat", {}]))
            body, _ = await asyncio.to_thread(backoffice.expect, call_topic_v201(cid))
            assert body["UniqueId"] == "ok"
            return answers

    answers = asyncio.run(scenario())
    assert [a[:3] for a in answers] == [
        [4, "np", "RpcFrameworkError"],
        [4, "-1", "RpcFrameworkError"],
        [4, "mt", "MessageTypeNotSupported"],
        [4, "d", "FormatViolation"],
    ]
    assert gw.gateway.counters["frames_malformed"] == 5
    assert gw.gateway.counters["callerrors_sent"] == 4
