"""The gateway against the real broker, with real OCPP clients over real WebSockets."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from gateway import services
from gateway.tests.conftest import OCPP16, RUN, Backoffice, call_topic, new_cid, reply_topic

PRESENCE_PREFIX = f"gwtest-{RUN}/presence/csms-gateway@127.0.0.1"


def basic(cid: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{password}".encode()).decode()}


def ws_connect(url: str, cid: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    return connect(f"{url}/{cid}", subprotocols=[OCPP16], additional_headers=headers or {}, **kwargs)


class Charger(ChargePoint):
    """A minimal real OCPP client: answers GetConfiguration, implements nothing else."""

    @on(Action.get_configuration)
    def on_get_configuration(self, **kwargs: Any) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )


async def wait_closed(ws: ClientConnection, timeout: float) -> float:
    """Seconds until the server closes ``ws`` (frames received meanwhile are ignored)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed:
        return time.monotonic() - started


def test_topics_and_json_match_wire_md(start_gateway: Any, backoffice: Backoffice) -> None:
    """Golden test: every kind of frame, both directions, exactly as EMQX's gateway puts them."""
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid()

    async def scenario() -> None:
        async with ws_connect(gw.url, cid) as ws:
            charger = Charger(cid, ws)
            receiver = asyncio.create_task(charger.start())
            boot = asyncio.create_task(
                charger.call(call.BootNotification(charge_point_vendor="vendor1", charge_point_model="model1"))
            )
            # charger Call -> ocpp/cp/{cid}, QoS 2
            body, qos = await asyncio.to_thread(backoffice.expect, call_topic(cid))
            assert qos == 2
            unique_id = body["UniqueId"]
            assert body == {
                "MessageTypeId": 2,
                "UniqueId": unique_id,
                "Action": "BootNotification",
                "Payload": {"chargePointVendor": "vendor1", "chargePointModel": "model1"},
            }
            assert type(body["MessageTypeId"]) is int
            # our CallResult (EMQX envelope on ocpp/cs/{cid}) -> the charger
            await asyncio.to_thread(
                backoffice.send,
                cid,
                {
                    "MessageTypeId": 3,
                    "UniqueId": unique_id,
                    "Payload": {"currentTime": "2026-11-22T14:20:39Z", "interval": 300, "status": "Accepted"},
                },
            )
            reply = await asyncio.wait_for(boot, 5)
            assert (reply.status, reply.interval) == ("Accepted", 300)
            # our Call -> the charger; its CallResult -> ocpp/cp/{cid}/Reply without an Action
            await asyncio.to_thread(
                backoffice.send,
                cid,
                {"MessageTypeId": 2, "UniqueId": "c0ffee01", "Action": "GetConfiguration", "Payload": {}},
            )
            body, qos = await asyncio.to_thread(backoffice.expect, reply_topic(cid))
            assert qos == 2
            assert body == {
                "MessageTypeId": 3,
                "UniqueId": "c0ffee01",
                "Payload": {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
            }
            # a Call the charger does not implement -> its CallError on the same Reply topic, details dropped
            await asyncio.to_thread(
                backoffice.send,
                cid,
                {"MessageTypeId": 2, "UniqueId": "c0ffee02", "Action": "ClearCache", "Payload": {}},
            )
            body, _ = await asyncio.to_thread(backoffice.expect, reply_topic(cid))
            assert set(body) == {"MessageTypeId", "UniqueId", "ErrorCode", "ErrorDescription"}
            assert (body["MessageTypeId"], body["UniqueId"], body["ErrorCode"]) == (4, "c0ffee02", "NotImplemented")
            receiver.cancel()

    asyncio.run(scenario())


def test_every_downlink_is_exactly_one_frame(start_gateway: Any, backoffice: Backoffice) -> None:
    """A burst of downlinks arrives as that many frames, each a complete OCPP-J array, in order."""
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid()
    downlinks = [
        {
            "MessageTypeId": 2,
            "UniqueId": f"m{i}",
            "Action": "TriggerMessage",
            "Payload": {"requestedMessage": "Heartbeat"},
        }
        for i in range(5)
    ]
    downlinks.append(
        {"MessageTypeId": 4, "UniqueId": "e1", "ErrorCode": "FormationViolation", "ErrorDescription": "bad"}
    )

    async def scenario() -> list[Any]:
        async with ws_connect(gw.url, cid) as ws:
            await asyncio.sleep(0.2)
            for message in downlinks:
                await asyncio.to_thread(backoffice.send, cid, message)
            return [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in downlinks]

    frames = asyncio.run(scenario())
    assert frames[:5] == [[2, f"m{i}", "TriggerMessage", {"requestedMessage": "Heartbeat"}] for i in range(5)]
    assert frames[5] == [4, "e1", "FormationViolation", "bad", {}]


def test_malformed_downlinks_are_dropped_like_emqx(start_gateway: Any, backoffice: Backoffice) -> None:
    """A string MessageTypeId or a missing key is dropped; the next good downlink still arrives."""
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid()

    async def scenario() -> Any:
        async with ws_connect(gw.url, cid) as ws:
            await asyncio.sleep(0.2)
            await asyncio.to_thread(backoffice.send, cid, {"MessageTypeId": "3", "UniqueId": "x", "Payload": {}})
            await asyncio.to_thread(backoffice.send, cid, {"MessageTypeId": 3, "UniqueId": "y"})
            await asyncio.to_thread(backoffice.send, cid, "not json")
            await asyncio.to_thread(backoffice.send, cid, {"MessageTypeId": 3, "UniqueId": "ok", "Payload": {}})
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(scenario()) == [3, "ok", {}]
    assert gw.gateway.counters["downlinks_malformed"] == 3


def test_malformed_frames_from_a_charger_are_dropped_and_counted(start_gateway: Any, backoffice: Backoffice) -> None:
    """Unanswerable frames are dropped; a Call whose id is readable is answered (more: test_bad_frames.py)."""
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid()

    async def scenario() -> None:
        async with ws_connect(gw.url, cid) as ws:
            for bad in ["garbage", "[2]", '[5, "x", {}]', '["2", "x", "Heartbeat", {}]', "{}", '[2, "x", "Heartbeat"]']:
                await ws.send(bad)
            await ws.send(b"\x00binary")
            await ws.send(json.dumps([2, "after", "Heartbeat", {}]))
            body, _ = await asyncio.to_thread(backoffice.expect, call_topic(cid))
            assert body == {"MessageTypeId": 2, "UniqueId": "after", "Action": "Heartbeat", "Payload": {}}
            # the Call without a payload was the only answerable one
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[:3] == [4, "x", "ProtocolError"] and answer[4] == {}

    asyncio.run(scenario())
    assert gw.gateway.counters["frames_malformed"] == 6
    assert gw.gateway.counters["callerrors_sent"] == 1
    assert gw.gateway.counters["frames_binary_dropped"] == 1


@pytest.mark.django_db(transaction=True)
def test_refused_credentials_get_401(start_gateway: Any) -> None:
    gw = start_gateway()
    cid = new_cid()
    services.credential_set_password(charge_point_id=cid, password="s3cret-key-16chars")
    disabled = new_cid()
    services.credential_set_password(charge_point_id=disabled, password="s3cret-key-16chars", enabled=False)

    async def status_of(target: str, headers: dict[str, str] | None) -> int:
        try:
            async with ws_connect(gw.url, target, headers):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    async def scenario() -> None:
        assert await status_of(cid, basic(cid, "wrong")) == 401
        assert await status_of(cid, None) == 401
        assert await status_of(new_cid(), basic("someone", "s3cret-key-16chars")) == 401
        assert await status_of(disabled, basic(disabled, "s3cret-key-16chars")) == 401
        assert await status_of(cid, {"Authorization": "Basic !!notbase64"}) == 401
        assert await status_of(cid, basic(cid, "s3cret-key-16chars")) == 101

    asyncio.run(scenario())
    assert gw.gateway.counters["handshake_unauthorized"] == 5


@pytest.mark.django_db(transaction=True)
def test_401_carries_a_basic_challenge(start_gateway: Any) -> None:
    gw = start_gateway()

    async def scenario() -> InvalidStatus:
        with pytest.raises(InvalidStatus) as raised:
            async with ws_connect(gw.url, new_cid()):
                pass
        return raised.value

    error = asyncio.run(scenario())
    assert error.response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.django_db(transaction=True)
def test_anonymous_flag_admits_chargers_without_credentials_only(start_gateway: Any) -> None:
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid()
    services.credential_set_password(charge_point_id=cid, password="right-password-123")

    async def scenario() -> None:
        async with ws_connect(gw.url, new_cid()) as ws:  # no Authorization header at all
            assert ws.subprotocol == "ocpp1.6"
        with pytest.raises(InvalidStatus) as raised:  # a wrong password is still wrong
            async with ws_connect(gw.url, cid, basic(cid, "wrong")):
                pass
        assert raised.value.response.status_code == 401

    asyncio.run(scenario())


def test_bad_path_and_missing_subprotocol_are_refused(start_gateway: Any) -> None:
    gw = start_gateway(allow_anonymous=True)
    base = gw.url.rsplit("/ocpp", 1)[0]

    async def status(url: str, subprotocols: list[str] | None) -> int:
        try:
            async with connect(url, subprotocols=subprotocols):  # type: ignore[arg-type]
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    async def scenario() -> None:
        assert await status(f"{base}/elsewhere/cp1", ["ocpp1.6"]) == 404
        assert await status(f"{base}/ocpp/a%2Fb", ["ocpp1.6"]) == 404
        assert await status(f"{base}/ocpp/{'x' * 49}", ["ocpp1.6"]) == 404
        assert await status(f"{base}/ocpp/cp1", None) == 400
        assert await status(f"{base}/ocpp/cp1", ["ocpp2.2", "ocpp1.5"]) == 400
        assert await status(f"{base}/ocpp/cp1", ["ocpp2.0.1", "ocpp1.6"]) == 101

    asyncio.run(scenario())


def test_second_connection_replaces_the_first(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid()

    async def scenario() -> None:
        async with ws_connect(gw.url, cid) as first:
            await asyncio.to_thread(backoffice.expect, f"{PRESENCE_PREFIX}/{cid}/connected")
            async with ws_connect(gw.url, cid) as second:
                assert await wait_closed(first, 5) < 5
                assert first.close_reason == "discarded"
                gone, _ = await asyncio.to_thread(backoffice.expect, f"{PRESENCE_PREFIX}/{cid}/disconnected")
                assert gone["reason"] == "discarded"
                back, _ = await asyncio.to_thread(backoffice.expect, f"{PRESENCE_PREFIX}/{cid}/connected")
                assert back["connected_at"] >= gone["connected_at"]
                # downlinks now reach the second connection
                await asyncio.to_thread(backoffice.send, cid, {"MessageTypeId": 3, "UniqueId": "n", "Payload": {}})
                assert json.loads(await asyncio.wait_for(second.recv(), 5)) == [3, "n", {}]
                await second.send(json.dumps([2, "s2", "Heartbeat", {}]))
                body, _ = await asyncio.to_thread(backoffice.expect, call_topic(cid))
                assert body["UniqueId"] == "s2"
        # The gateway forgets the session once it has seen the close, a moment later on its own loop.
        for _ in range(100):
            if not gw.gateway.sessions:
                break
            await asyncio.sleep(0.05)
        assert len(gw.gateway.sessions) == 0

    asyncio.run(scenario())


def test_keepalive_disconnects_a_silent_charger(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True, default_heartbeat=1, keepalive_backoff=1.5, keepalive_tick=0.1)
    cid = new_cid()

    async def scenario() -> float:
        async with ws_connect(gw.url, cid, ping_interval=None) as ws:  # no pings (they count: test_keepalive.py)
            return await wait_closed(ws, 10)

    asyncio.run(scenario())  # raises TimeoutError if the gateway keeps the silent charger
    body, _ = backoffice.expect(f"{PRESENCE_PREFIX}/{cid}/disconnected")
    assert body["reason"] == "keepalive_timeout"
    assert gw.gateway.counters["keepalive_timeouts"] == 1


def test_keepalive_follows_the_accepted_boot_interval_and_frames(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True, default_heartbeat=1, keepalive_backoff=1.5, keepalive_tick=0.1)
    cid = new_cid()

    async def scenario() -> None:
        async with ws_connect(gw.url, cid, ping_interval=None) as ws:
            # a charger that talks is kept, whatever the interval: four frames, 0.6 s apart, past 1 s x 1.5
            for _ in range(4):
                await asyncio.sleep(0.6)
                await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            assert gw.gateway.counters["keepalive_timeouts"] == 0
            # an Accepted reply sets the interval
            await asyncio.to_thread(
                backoffice.send,
                cid,
                {
                    "MessageTypeId": 3,
                    "UniqueId": "b",
                    "Payload": {"status": "Accepted", "interval": 3, "currentTime": "2026-01-01T00:00:00Z"},
                },
            )
            for _ in range(100):
                if gw.gateway.sessions[cid].info.keepalive == 3:
                    break
                await asyncio.sleep(0.05)
            assert gw.gateway.sessions[cid].info.keepalive == 3
            await wait_closed(ws, 10)  # then silence past 3 s x 1.5 closes it

    asyncio.run(scenario())
    assert gw.gateway.counters["keepalive_timeouts"] == 1


def test_presence_events_in_emqx_format(start_gateway: Any, backoffice: Backoffice) -> None:
    gw = start_gateway(allow_anonymous=True)
    cid = new_cid()
    before = int(time.time() * 1000)

    async def scenario() -> None:
        async with ws_connect(gw.url, cid):
            await asyncio.sleep(0.1)

    asyncio.run(scenario())
    connected, _ = backoffice.expect(f"{PRESENCE_PREFIX}/{cid}/connected")
    disconnected, _ = backoffice.expect(f"{PRESENCE_PREFIX}/{cid}/disconnected")
    assert connected["connected_at"] >= before
    assert connected == {
        "clientid": cid,
        "username": None,
        "ipaddress": "127.0.0.1",
        "sockport": gw.gateway.port,
        "protocol": "ocpp",
        "proto_name": "OCPP",
        "proto_ver": "1.6",
        "keepalive": 60,
        "clean_start": True,
        "expiry_interval": 0,
        "connected_at": connected["connected_at"],
        "ts": connected["ts"],
    }
    assert disconnected["reason"] == "sock_closed"
    assert disconnected["connected_at"] == connected["connected_at"]
    assert disconnected["disconnected_at"] >= connected["connected_at"]
    assert {"clientid", "username", "ipaddress", "proto_ver", "ts"} <= set(disconnected)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_tls_when_a_certificate_is_configured(
    start_gateway: Any, backoffice: Backoffice, certificate: tuple[str, str]
) -> None:
    cert, key = certificate
    gw = start_gateway(allow_anonymous=True, tls_cert=cert, tls_key=key)
    assert gw.url.startswith("wss://")
    context = ssl.create_default_context(cafile=cert)
    cid = new_cid()

    async def scenario() -> None:
        async with ws_connect(gw.url, cid, ssl=context) as ws:
            await ws.send(json.dumps([2, "t1", "Heartbeat", {}]))
            body, _ = await asyncio.to_thread(backoffice.expect, call_topic(cid))
            assert body["UniqueId"] == "t1"

    asyncio.run(scenario())
