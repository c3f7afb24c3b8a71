"""MQTT charger profiles in process: validation, the routes they make, the reply encoding, a new boot
of a charger whose ids restart, commands refused to a charger that takes none, the publisher.

The API and the admin are in mqtt_bridge/api/tests/test_profiles_api.py.
What goes through the real broker, bridge and worker is in test_profiles_e2e.py.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import time
import uuid
from typing import Any

import pytest

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command
from chargers.services import charge_point_registration_set
from conftest import TOPIC_PREFIX
from mqtt_bridge import dialects
from mqtt_bridge.frames import Frame, Kind, Rejected, utcnow
from mqtt_bridge.models import MessageLog, MqttChargerProfile
from mqtt_bridge.mqtt import broker_address, client_create, publisher
from mqtt_bridge.processing import frame_handle
from mqtt_bridge.profiles import (
    ProfileError,
    mqtt_profile_create,
    mqtt_profile_delete,
    mqtt_profile_update,
    profile_problems,
    profile_routes,
)
from mqtt_bridge.routes import Route
from mqtt_bridge.topics import ProfileMatch, ProfileSpec, Topics, templates_overlap
from mqtt_bridge.transports.mqtt import MqttConsumer

pytestmark = pytest.mark.django_db

BOOT = {"chargePointVendor": "Espressif", "chargePointModel": "ESP32-A"}


def emqx_defaults() -> Topics:
    return Topics(call="ocpp/cp/{cid}", reply="ocpp/cp/{cid}/Reply", downstream="ocpp/cs/{cid}")


def esp32(**fields: Any) -> MqttChargerProfile:
    values: dict[str, Any] = {
        "name": "esp32",
        "uplink_template": "/charger/{cid}",
        "downlink_template": "/system/{cid}",
        "reply_encoding": "ocppj-action-id",
        "accepts_calls": False,
        "ids_restart_at_boot": True,
        **fields,
    }
    return mqtt_profile_create(**values)


def problems(uplink: str, downlink: str = "/system/{cid}", name: str = "p1") -> dict[str, list[str]]:
    return profile_problems(name=name, uplink_template=uplink, downlink_template=downlink, base=emqx_defaults())


# --- validation -------------------------------------------------------------------------------------


def test_a_profile_in_the_shape_of_the_esp32_firmware_is_valid() -> None:
    assert problems("/charger/{cid}", "/system/{cid}") == {}
    assert problems("/charger/ESP32-A/{cid}", "/system/ESP32-A/{cid}") == {}  # per model
    assert problems("site/+/charger/{cid}", "site/north/system/{cid}") == {}  # a level ignored


@pytest.mark.parametrize(
    ("uplink", "reason"),
    [
        ("/charger", "must contain {cid} exactly once"),
        ("/charger/{cid}/{cid}", "must contain {cid} exactly once"),
        ("/charger/{cid}/#", "must not contain the # wildcard"),
        ("/charger/cp-{cid}", "must have {cid} as a whole level"),
        ("/charger/a+/{cid}", "takes + only as a whole level"),
        ("/charger/{cid}/{action}", "knows no placeholder but {cid}"),
        ("$SYS/{cid}", "topics starting with $ are the broker's"),
        ("/charger/\x00/{cid}", "must not contain control characters"),
    ],
)
def test_a_bad_uplink_is_refused_with_its_reason(uplink: str, reason: str) -> None:
    found = problems(uplink).get("uplink_template", [])
    assert any(reason in message for message in found), found


@pytest.mark.parametrize(
    ("downlink", "reason"),
    [
        ("/system", "must contain {cid} exactly once"),
        ("/system/+/{cid}", "must not contain the + wildcard"),
        ("/system/{cid}/#", "must not contain the # wildcard"),
        ("/system/{cid}/{cid}", "must contain {cid} exactly once"),
    ],
)
def test_a_bad_downlink_is_refused_with_its_reason(downlink: str, reason: str) -> None:
    found = problems("/charger/{cid}", downlink).get("downlink_template", [])
    assert any(reason in message for message in found), found


def test_an_uplink_must_not_overlap_another_route() -> None:
    assert "overlaps the configured topic 'ocpp/cp/{cid}'" in problems("ocpp/+/{cid}")["uplink_template"][0]
    esp32()
    found = problems("/charger/{cid}", name="other")["uplink_template"]
    assert found == ["overlaps the uplink '/charger/{cid}' of profile 'esp32'"]
    assert "overlaps the uplink" in problems("/+/{cid}", name="other")["uplink_template"][0]
    assert problems("/chargers/{cid}", "/systems/{cid}", name="other") == {}


def test_a_downlink_on_one_of_our_uplinks_is_refused() -> None:
    # We would read our own replies as the charger's messages.
    assert (
        "the bridge would read our own messages" in problems("/charger/{cid}", "/charger/{cid}")["downlink_template"][0]
    )
    assert (
        "the bridge would read our own messages" in problems("/charger/{cid}", "ocpp/cp/x{cid}")["downlink_template"][0]
    )


def test_names_are_slugs_distinct_from_the_built_in_dialects_and_never_change() -> None:
    assert "built-in dialect" in problems("/charger/{cid}", name="ocppj")["name"][0]
    assert "lower-case" in problems("/charger/{cid}", name="ESP 32")["name"][0]
    profile = esp32()
    with pytest.raises(ProfileError) as refused:
        mqtt_profile_create(name="esp32", uplink_template="/other/{cid}", downlink_template="/o/{cid}")
    assert refused.value.errors == {"name": ["a profile named 'esp32' exists"]}
    with pytest.raises(ProfileError) as refused:
        mqtt_profile_update(profile=profile, name="esp33")
    assert "cannot change" in refused.value.errors["name"][0]
    changed = mqtt_profile_update(profile=profile, accepts_calls=True, downlink_template="/down/{cid}")
    assert (changed.accepts_calls, changed.downlink_template, changed.created_at) == (
        True,
        "/down/{cid}",
        profile.created_at,
    )


def test_templates_overlap_level_by_level() -> None:
    assert templates_overlap("/charger/{cid}", "/charger/+")
    assert templates_overlap("/charger/{cid}", "/+/ABC")
    assert templates_overlap("a/#", "a/b/c/{cid}")
    assert not templates_overlap("/charger/{cid}", "charger/{cid}")  # a leading / is a level of its own
    assert not templates_overlap("/charger/{cid}", "/charger/{cid}/Reply")
    assert not templates_overlap("ocpp/cp/{cid}", "ocpp/cs/{cid}")


# --- routes ----------------------------------------------------------------------------------------


def test_profiles_become_routes_whose_dialect_is_their_name() -> None:
    esp32(ocpp_version="2.0.1")
    topics = Topics.from_settings(profiles=profile_routes(base=Topics.from_settings()))
    assert "/charger/+" in topics.subscriptions
    match = topics.match("/charger/ESP-7")
    assert match is not None and match.route == Route.CALL and match.charge_point_id == "ESP-7"
    assert match.spec == ProfileSpec(
        transport="mqtt", dialects=("esp32",), ocpp_version="2.0.1", ids_restart_at_boot=True
    )


def test_a_profile_that_became_bad_is_not_served_and_stops_nothing(caplog: pytest.LogCaptureFixture) -> None:
    esp32()
    # Written around the services (by hand, or the settings' topics moved onto it).
    MqttChargerProfile.objects.create(name="clash", uplink_template="/+/{cid}", downlink_template="/s/{cid}")
    MqttChargerProfile.objects.create(name="emqx", uplink_template="/x/{cid}", downlink_template="/y/{cid}")
    routes = profile_routes(base=Topics.from_settings())
    assert [spec.profile for _, spec in routes] == ["esp32"]
    assert "'clash' is not served" in caplog.text and "'emqx' is not served" in caplog.text


def test_the_bridge_takes_profile_changes_when_it_reads_them_again() -> None:
    consumer = MqttConsumer(client_id=f"test-profiles-{uuid.uuid4().hex[:8]}", profiles_reload=0)
    assert not any(isinstance(spec, ProfileSpec) for spec in consumer.topics.specs)
    assert consumer._profiles_read() is False  # nothing changed
    profile = esp32()
    assert consumer._profiles_read() is True and "/charger/+" in consumer.subscriptions
    mqtt_profile_update(profile=profile, uplink_template="/charger/v2/{cid}")
    assert consumer._profiles_read() is True
    assert "/charger/v2/+" in consumer.subscriptions and "/charger/+" not in consumer.subscriptions
    assert consumer._removed == {"/charger/+"}  # not connected: unsubscribed when it connects
    mqtt_profile_delete(profile=profile)
    assert consumer._profiles_read() is True
    assert consumer._removed == {"/charger/+", "/charger/v2/+"}
    assert "/charger/v2/+" not in consumer.subscriptions


# --- decoding and encoding --------------------------------------------------------------------------


def decoded(payload: Any, *, redelivered: bool = False, ids_restart: bool = True) -> Frame | Rejected:
    spec = ProfileSpec(transport="mqtt", dialects=("esp32",), ocpp_version="1.6", ids_restart_at_boot=ids_restart)
    match = ProfileMatch(Route.CALL, "ESP-1", "", spec, redelivered=redelivered)
    return dialects.decode(
        topic="/charger/ESP-1", match=match, payload=json.dumps(payload).encode(), received_at=utcnow(), max_bytes=4096
    )


def test_a_first_delivery_of_a_boot_is_a_new_boot_a_dup_or_another_call_is_not() -> None:
    boot = decoded([2, "1", "BootNotification", BOOT])
    assert isinstance(boot, Frame) and boot.dialect == "esp32" and boot.new_boot
    assert Frame.from_task(boot.to_task()).new_boot
    again = decoded([2, "1", "BootNotification", BOOT], redelivered=True)
    assert isinstance(again, Frame) and not again.new_boot
    other = decoded([2, "2", "Heartbeat", {}])
    assert isinstance(other, Frame) and not other.new_boot and "new_boot" not in other.to_task()
    counted = decoded([2, "1", "BootNotification", BOOT], ids_restart=False)
    assert isinstance(counted, Frame) and not counted.new_boot


def test_a_profile_route_takes_ocpp_j_arrays_only() -> None:
    refused = decoded({"MessageTypeId": 2, "UniqueId": "1", "Action": "Heartbeat", "Payload": {}})
    assert isinstance(refused, Rejected) and refused.reason == "bad_structure" and "takes esp32" in refused.description
    unreadable = decoded([2, "9", "Heartbeat", "not an object"])
    assert isinstance(unreadable, Rejected) and unreadable.reply is not None and unreadable.reply.dialect == "esp32"


def test_the_action_id_encoding_puts_the_action_where_the_id_was() -> None:
    call = Frame(charge_point_id="ESP-1", kind=Kind.CALL, message_id="1", action="BootNotification", payload=BOOT)
    reply = call.reply({"status": "Accepted", "interval": 300})
    assert (
        dialects.encode(reply, encoding="ocppj-action-id")
        == b'[3,"BootNotification",{"status":"Accepted","interval":300}]'
    )
    error = call.error("FormationViolation", "bad")
    assert json.loads(dialects.encode(error, encoding="ocppj-action-id")) == [
        4,
        "BootNotification",
        "FormationViolation",
        "bad",
        {},
    ]
    assert json.loads(dialects.encode(reply, encoding="ocppj")) == [3, "1", {"status": "Accepted", "interval": 300}]
    ours = Frame(charge_point_id="ESP-1", kind=Kind.CALL, message_id="c1", action="Reset", payload={"type": "Soft"})
    assert json.loads(dialects.encode(ours, encoding="ocppj-action-id")) == [2, "c1", "Reset", {"type": "Soft"}]
    with pytest.raises(ValueError, match="no encoding 'esp32'"):
        dialects.encode(dataclasses.replace(reply, dialect="esp32"))


def test_the_publisher_sends_a_profile_s_frames_to_its_downlink_in_its_encoding() -> None:
    esp32(uplink_template=f"/{TOPIC_PREFIX}charger/{{cid}}", downlink_template=f"/{TOPIC_PREFIX}system/{{cid}}")
    MqttChargerProfile.objects.create(
        name="calls", uplink_template=f"/{TOPIC_PREFIX}c/{{cid}}", downlink_template=f"/{TOPIC_PREFIX}d/{{cid}}"
    )
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    client = client_create(client_id=f"test-sub-{uuid.uuid4().hex[:8]}", clean_session=True)
    client.on_message = lambda c, u, m: received.put((m.topic, bytes(m.payload)))
    client.connect(*broker_address())
    client.loop_start()
    try:
        client.subscribe(f"/{TOPIC_PREFIX}#", qos=1)
        time.sleep(0.3)
        boot = Frame(
            charge_point_id="ESP-1", kind=Kind.CALL, message_id="1", action="BootNotification", dialect="esp32"
        )
        command = Frame(charge_point_id="ESP-1", kind=Kind.CALL, message_id="c1", action="Reset", dialect="esp32")
        orphan = Frame(charge_point_id="ESP-2", kind=Kind.CALL, message_id="2", action="Heartbeat", dialect="gone")
        taken = Frame(charge_point_id="ESP-3", kind=Kind.CALL, message_id="c2", action="ClearCache", payload={},
                      dialect="calls")  # fmt: skip
        publisher().publish([boot.reply({"status": "Accepted"}), command, orphan.reply({}), taken])
        first = received.get(timeout=5)
        second = received.get(timeout=5)
        assert first == (f"/{TOPIC_PREFIX}system/ESP-1", b'[3,"BootNotification",{"status":"Accepted"}]')
        assert second == (f"/{TOPIC_PREFIX}d/ESP-3", b'[2,"c2","ClearCache",{}]')
        with pytest.raises(queue.Empty):  # neither the command to a charger that takes none, nor the orphan
            received.get(timeout=1)
    finally:
        client.disconnect()
        client.loop_stop()


# --- boots of chargers whose ids restart, and commands ---------------------------------------------


def profile_call(action: str, payload: dict[str, Any], message_id: str, *, new_boot: bool = False) -> Frame:
    return Frame(
        charge_point_id="ESP-1",
        kind=Kind.CALL,
        message_id=message_id,
        action=action,
        payload=payload,
        dialect="esp32",
        received_at=utcnow(),
        new_boot=new_boot,
    )


def test_ids_restarting_at_a_reboot_are_new_messages_when_the_transport_says_so() -> None:
    esp32()
    first = frame_handle(profile_call("BootNotification", BOOT, "1", new_boot=True))
    beat = frame_handle(profile_call("Heartbeat", {}, "2"))
    # The reboot: the same id, the same payload, within the duplicate window.
    second = frame_handle(profile_call("BootNotification", BOOT, "1", new_boot=True))
    beat_again = frame_handle(profile_call("Heartbeat", {}, "2"))
    assert first is not None and second is not None and beat is not None and beat_again is not None
    assert MessageLog.objects.filter(direction="in", error_description="duplicate delivery").count() == 0
    assert MessageLog.objects.filter(direction="in", action="BootNotification").count() == 2
    assert beat_again.payload["currentTime"] >= beat.payload["currentTime"]
    # A redelivery of the boot (the DUP flag: the transport does not say new_boot) is still one.
    frame_handle(profile_call("BootNotification", BOOT, "1"))
    assert MessageLog.objects.filter(direction="in", error_description="duplicate delivery").count() == 1


def test_commands_to_a_charger_whose_profile_takes_no_calls_are_refused(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    profile = esp32()
    frame_handle(profile_call("BootNotification", BOOT, "1", new_boot=True))
    charge_point = ChargePoint.objects.get(charge_point_id="ESP-1")
    assert (charge_point.dialect, charge_point.registration_status) == ("esp32", "Accepted")
    # Not even the CSMS's own configuration read after the boot.
    assert not Command.objects.filter(charge_point=charge_point).exists()
    with pytest.raises(CommandError, match="whose firmware takes no Calls from the CSMS"):
        command_enqueue(charge_point=charge_point, action="ClearCache", payload={})
    mqtt_profile_update(profile=profile, accepts_calls=True)
    assert command_enqueue(charge_point=charge_point, action="ClearCache", payload={}).status == "queued"
    mqtt_profile_delete(profile=profile)
    with pytest.raises(CommandError, match="which no longer exists"):
        command_enqueue(charge_point=charge_point, action="ClearCache", payload={})


def test_accepting_a_pending_charger_that_takes_no_calls_queues_no_boot_trigger() -> None:
    esp32()
    charge_point = ChargePoint.objects.create(
        charge_point_id="ESP-9", dialect="esp32", transport="mqtt", online=True, registration_status="Pending"
    )
    # Otherwise a TriggerMessage BootNotification: refused, it would have failed the accept itself.
    charge_point_registration_set(charge_point=charge_point, status="Accepted")
    assert ChargePoint.objects.get(pk=charge_point.pk).registration_status == "Accepted"
    assert not Command.objects.filter(charge_point=charge_point).exists()
