"""MQTT charger profiles end to end: the real Mosquitto, a real bridge and the session's real worker.

The chargers here play firmware that speaks OCPP-J over MQTT itself (WIRE.md, dialect 4): it
publishes on ``/charger/{cid}`` (or ``/charger/<model>/{cid}``), reads ``/system/{cid}``, expects the
action in the id slot of our CallResults, in compact JSON, restarts its message ids at 1 on every boot,
may publish with the retain flag, and may take no Calls from us.

A bridge of this module's own serves the profiles (its default topics moved out of the way) and
reads them again every second (CSMS_MQTT_PROFILES_RELOAD=1): each test creates its own profile, on
topics of its own under the run's prefix, and waits until the bridge answers on it.
"""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.services import api_token_create, roles_sync
from chargers.models import ChargePoint, Command
from conftest import RUN_ID, TOPIC_PREFIX, Stack, unique_cid
from mqtt_bridge.models import InboundCall, MessageLog, MqttChargerProfile
from mqtt_bridge.mqtt import broker_address, client_create
from mqtt_bridge.profiles import mqtt_profile_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOOT = {"chargePointVendor": "Espressif", "chargePointModel": "ESP32-A"}


class Firmware:
    """Chargers of one profile: publish on its uplink, collect what we send on its downlink, per charger."""

    def __init__(self, profile: MqttChargerProfile) -> None:
        self.name, self.uplink, self.downlink = profile.name, profile.uplink_template, profile.downlink_template
        self.received: dict[str, queue.Queue[bytes]] = {}
        self.retained: set[str] = set()
        self.client = client_create(client_id=f"test-fw-{uuid.uuid4().hex[:10]}", clean_session=True)
        self.client.on_message = self._on_message
        self.client.connect(*broker_address())
        self.client.loop_start()
        subscribed = self.client.subscribe(self.downlink.replace("{cid}", "+"), qos=1)
        assert subscribed[0] == paho.MQTT_ERR_SUCCESS
        time.sleep(0.3)  # let the SUBACK arrive before anything is published

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        cid = message.topic.split("/")[self.downlink.split("/").index("{cid}")]
        self.received.setdefault(cid, queue.Queue()).put(bytes(message.payload))

    def send(self, cid: str, frame: list[Any], *, qos: int = 1, retain: bool = False) -> None:
        topic = self.uplink.replace("{cid}", cid)
        if retain:
            self.retained.add(topic)
        self.client.publish(topic, json.dumps(frame), qos=qos, retain=retain).wait_for_publish(5)

    def next(self, cid: str, timeout: float = 15) -> bytes:
        try:
            return self.received.setdefault(cid, queue.Queue()).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing on {self.downlink} for {cid} within {timeout} s") from None

    def call(self, cid: str, message_id: str, action: str, payload: dict[str, Any], **options: Any) -> list[Any]:
        self.send(cid, [2, message_id, action, payload], **options)
        body = self.next(cid)
        parsed = json.loads(body)
        assert body == json.dumps(parsed, separators=(",", ":")).encode(), "not compact JSON"
        assert isinstance(parsed, list)
        return parsed

    def nothing(self, cid: str, wait: float = 1.5) -> bool:
        try:
            self.received.setdefault(cid, queue.Queue()).get(timeout=wait)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        for topic in self.retained:  # an empty retained message deletes the broker's copy
            self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def profile_bridge(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A bridge for the profiles only, beside the session's stack whose worker handles what it enqueues."""
    unused = TOPIC_PREFIX + "profile-bridge-unused/"
    bridge = Stack(
        Path(tmp_path_factory.mktemp("profile-bridge")),
        CSMS_MQTT_CLIENT_ID=f"test-profile-bridge-{RUN_ID}",
        CSMS_MQTT_PROFILES_RELOAD="1",
        CSMS_TOPIC_CALL=unused + "cp/{cid}",
        CSMS_TOPIC_REPLY=unused + "cp/{cid}/Reply",
        CSMS_TOPIC_PRESENCE=unused + "presence/{cid}/connected",
        CSMS_TOPIC_CALL_V201="",  # the session stack's bridge serves the built-in 2.0.1 route
    )
    bridge.start_bridge()
    try:
        yield bridge
    finally:
        if bridge.bridge is not None:
            bridge.stop_bridge()


@pytest.fixture
def make_firmware(profile_bridge: Stack) -> Iterator[Any]:
    """``make_firmware(**profile fields)``: a profile on topics of its own, served, and its chargers."""
    made: list[Firmware] = []

    def make(**fields: Any) -> Firmware:
        tag = uuid.uuid4().hex[:8]
        values = {
            "name": f"fw-{tag}",
            "uplink_template": f"/{TOPIC_PREFIX}charger-{tag}/{{cid}}",
            "downlink_template": f"/{TOPIC_PREFIX}system-{tag}/{{cid}}",
            "reply_encoding": "ocppj-action-id",
            "accepts_calls": False,
            "ids_restart_at_boot": True,
        }
        for key, value in fields.items():
            values[key] = value.format(tag=tag) if isinstance(value, str) else value
        firmware = Firmware(mqtt_profile_create(**values))
        made.append(firmware)
        probe = unique_cid("probe")
        deadline = time.monotonic() + 30
        while True:  # answered once the bridge has read the profile and subscribed
            firmware.send(probe, [2, uuid.uuid4().hex[:8], "Heartbeat", {}])
            if not firmware.nothing(probe, wait=2):
                break
            if time.monotonic() > deadline:
                raise AssertionError("the profile was not served within 30 s\n" + profile_bridge.logs())
        return firmware

    yield make
    profile_bridge.drain()
    for firmware in made:
        firmware.close()


def boots(cid: str) -> int:
    return MessageLog.objects.filter(charge_point_id=cid, direction="in", action="BootNotification").count()


def wait_for(condition: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.1)


def test_a_charger_is_answered_on_its_downlink_with_the_action_in_the_id_slot(make_firmware: Any, cid: str) -> None:
    firmware = make_firmware()
    reply = firmware.call(cid, "1", "BootNotification", BOOT)
    assert reply[:2] == [3, "BootNotification"] and reply[2]["status"] == "Accepted" and len(reply) == 3
    beat = firmware.call(cid, "2", "Heartbeat", {})
    assert beat[:2] == [3, "Heartbeat"] and "currentTime" in beat[2]
    charge_point = ChargePoint.objects.get(charge_point_id=cid)
    assert (charge_point.dialect, charge_point.transport, charge_point.ocpp_version) == (firmware.name, "mqtt", "1.6")
    # It takes no Calls: not even the configuration read that follows an accepted boot.
    assert not Command.objects.filter(charge_point=charge_point).exists()
    assert firmware.nothing(cid)
    assert MessageLog.objects.filter(charge_point_id=cid, topic=firmware.uplink.replace("{cid}", cid)).count() == 2


def test_a_per_model_profile_that_takes_calls_gets_its_commands_on_its_downlink(make_firmware: Any, cid: str) -> None:
    firmware = make_firmware(
        uplink_template="/" + TOPIC_PREFIX + "charger-{tag}/ESP32-A/{{cid}}",
        downlink_template="/" + TOPIC_PREFIX + "system-{tag}/ESP32-A/{{cid}}",
        reply_encoding="ocppj",
        accepts_calls=True,
        ids_restart_at_boot=False,
    )
    reply = firmware.call(cid, "b1", "BootNotification", BOOT, qos=0)
    assert reply[:2] == [3, "b1"] and reply[2]["status"] == "Accepted"
    command = json.loads(firmware.next(cid))  # the configuration read after an accepted boot
    assert command[0] == 2 and command[2] == "GetConfiguration" and command[3] == {}
    firmware.send(cid, [3, command[1], {"configurationKey": [], "unknownKey": []}], qos=0)
    wait_for(
        lambda: Command.objects.filter(message_id=command[1], status=Command.Status.ACCEPTED).exists(),
        "the command's result was not recorded",
    )


def test_a_retained_uplink_redelivered_when_the_bridge_restarts_has_no_second_effect(
    make_firmware: Any, profile_bridge: Stack, cid: str
) -> None:
    firmware = make_firmware()
    topic = firmware.uplink.replace("{cid}", cid)
    reply = firmware.call(cid, "1", "BootNotification", BOOT, retain=True)
    assert reply[:2] == [3, "BootNotification"]
    booted_at = ChargePoint.objects.get(charge_point_id=cid).last_boot_at
    assert boots(cid) == 1
    # Older than the duplicate window: only the retain flag tells the redelivery apart now.
    InboundCall.objects.filter(charge_point_id=cid).update(received_at=timezone.now() - timedelta(days=1))

    logged = MessageLog.objects.filter(topic=topic).count()
    profile_bridge.stop_bridge()
    profile_bridge.start_bridge()  # the same persistent session: it subscribes again
    wait_for(
        lambda: MessageLog.objects.filter(topic=topic).count() > logged,
        "the retained BootNotification was not handed to the restarted bridge",
        timeout=60,
    )
    beat = firmware.call(cid, "2", "Heartbeat", {})  # the bridge serves the charger's new messages
    assert beat[:2] == [3, "Heartbeat"]
    profile_bridge.drain()
    assert boots(cid) == 1
    assert ChargePoint.objects.get(charge_point_id=cid).last_boot_at == booted_at
    assert MessageLog.objects.filter(topic=topic, error_code="retained").count() == 1
    assert firmware.nothing(cid)  # and it was not answered again


def test_message_ids_restarting_at_1_after_a_reboot_are_new_messages(make_firmware: Any, cid: str) -> None:
    firmware = make_firmware()
    first = firmware.call(cid, "1", "BootNotification", BOOT, qos=0)
    beat = firmware.call(cid, "2", "Heartbeat", {}, qos=0)
    booted_at = ChargePoint.objects.get(charge_point_id=cid).last_boot_at
    # The reboot: the same ids and payloads again, well within CSMS_DUPLICATE_WINDOW.
    second = firmware.call(cid, "1", "BootNotification", BOOT, qos=0)
    beat_again = firmware.call(cid, "2", "Heartbeat", {}, qos=0)
    assert first[:2] == second[:2] == [3, "BootNotification"]
    assert beat_again[2]["currentTime"] >= second[2]["currentTime"] >= beat[2]["currentTime"]
    charge_point = ChargePoint.objects.get(charge_point_id=cid)
    assert booted_at is not None and charge_point.last_boot_at is not None and charge_point.last_boot_at > booted_at
    assert boots(cid) == 2
    assert not MessageLog.objects.filter(charge_point_id=cid, error_description="duplicate delivery").exists()


def test_a_command_to_a_charger_that_takes_no_calls_is_refused_with_400(make_firmware: Any, cid: str) -> None:
    firmware = make_firmware()
    firmware.call(cid, "1", "BootNotification", BOOT)
    roles_sync()
    user = User.objects.create_user(username=f"operator-{cid}")
    user.groups.add(Group.objects.get(name="operator"))
    operator = APIClient()
    operator.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='e2e')[1]}")
    refused = operator.post(
        "/api/v1/commands/", {"charge_point_id": cid, "action": "ClearCache", "payload": {}}, format="json"
    )
    assert refused.status_code == 400, refused.content
    (reason,) = refused.json()["non_field_errors"]
    assert "whose firmware takes no Calls from the CSMS" in reason and cid in reason
    shortcut = operator.post(f"/api/v1/chargers/{cid}/reset/", {"type": "Soft"}, format="json")
    assert shortcut.status_code == 400, shortcut.content
    assert not Command.objects.filter(charge_point__charge_point_id=cid).exists()
    assert firmware.nothing(cid)
