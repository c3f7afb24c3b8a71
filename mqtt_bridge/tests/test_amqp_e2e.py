"""End to end over AMQP: the real RabbitMQ played as the Web OCPP plugin, a bridge process, a Celery worker.

The module's stack runs with ``AMQP_URL`` set, on an exchange, a queue, a Celery queue and MQTT topics
of its own (a session's MQTT stack, another test run or a ``make run`` on the same services never
sees its messages). Commands the tests queue reach its worker: the test process's default Celery
queue is the stack's while the module runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from ocpp.messages import get_validator

from backoffice.celery import app
from chargers.commands import command_enqueue
from chargers.models import ChargePoint, Command, IdTag
from conftest import RUN_ID, Stack
from mqtt_bridge.models import MessageLog
from transactions.models import Transaction

from .amqp_plugin import AMQP_URL, Plugin, broker_cleanup, requires_rabbitmq, unique

pytestmark = [requires_rabbitmq, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOW = "2026-11-23T10:00:00Z"
TTL_SECONDS = 20


def wait_for(predicate: Any, timeout: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


class AmqpStack:
    def __init__(self, stack: Stack, exchange: str) -> None:
        self.stack, self.exchange = stack, exchange


@pytest.fixture(scope="module")
def amqp_stack(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AmqpStack]:
    own = f"{RUN_ID}-{uuid.uuid4().hex[:6]}"
    exchange, queue_name, celery_queue = f"csms-test-x-{own}", f"csms-test-q-{own}", f"test-{own}-amqp"
    topics = f"test-{own}-amqp/"
    stack = Stack(
        tmp_path_factory.mktemp("amqp-stack"),
        AMQP_URL=AMQP_URL,
        CSMS_AMQP_EXCHANGE=exchange,
        CSMS_AMQP_QUEUE=queue_name,
        CSMS_AMQP_DOWNLINK_TTL_SECONDS=str(TTL_SECONDS),
        CSMS_CELERY_QUEUE=celery_queue,
        # Its MQTT consumer runs too: a session of its own, on topics nobody else publishes to.
        CSMS_MQTT_CLIENT_ID=f"test-bridge-amqp-{own}",
        CSMS_TOPIC_CALL=topics + "ocpp/cp/{cid}",
        CSMS_TOPIC_REPLY=topics + "ocpp/cp/{cid}/Reply",
        CSMS_TOPIC_DOWNSTREAM=topics + "ocpp/cs/{cid}",
        CSMS_TOPIC_PRESENCE=topics + "presence/{cid}/connected," + topics + "presence/{cid}/disconnected",
        CSMS_TOPIC_CALL_V201=topics + "ocpp/v201/cp/{cid}",
        CSMS_TOPIC_REPLY_V201=topics + "ocpp/v201/cp/{cid}/Reply",
    )
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = celery_queue
    plugin = Plugin(exchange)
    try:
        stack.start_worker()
        stack.start_bridge()
        probe = unique("probe")
        deadline = time.monotonic() + 60
        while True:
            try:
                plugin.reply(probe, plugin.call(probe, "Heartbeat", {}), timeout=3)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise AssertionError("the AMQP stack did not answer within 60 s\n" + stack.logs()) from None
        yield AmqpStack(stack, exchange)
    finally:
        app.conf.task_default_queue = default_queue
        plugin.close()
        stack.stop()
        broker_cleanup(exchanges=[exchange], queues=[queue_name])


@pytest.fixture
def plugin(amqp_stack: AmqpStack) -> Iterator[Plugin]:
    played = Plugin(amqp_stack.exchange)
    yield played
    played.close()
    amqp_stack.stack.drain()


@pytest.fixture
def cid() -> str:
    return unique("CP")


def call_ok(plugin: Plugin, cid: str, action: str, payload: dict[str, Any], version: str = "1.6") -> dict[str, Any]:
    """A Call as the plugin publishes it; our CallResult, schema-valid, from the charger's queue."""
    message_id = plugin.call(cid, action, payload, version=version)
    reply, _ = plugin.reply(cid, message_id)
    assert reply[0] == 3, reply
    get_validator(3, action, version).validate(reply[2])
    return reply[2]


def boot(plugin: Plugin, cid: str) -> None:
    """Boot a 1.6 charger and answer the GetConfiguration an accepted boot brings."""
    accepted = call_ok(plugin, cid, "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "M"})
    assert accepted["status"] == "Accepted"
    get_configuration = plugin.next_call(cid)
    assert get_configuration[2:] == ["GetConfiguration", {}]
    plugin.send(cid, [3, get_configuration[1], {"configurationKey": []}], action_of_call="GetConfiguration")


def test_TC_001_CSMS_cold_boot_charge_point_over_amqp(plugin: Plugin, cid: str) -> None:
    message_id = plugin.call(cid, "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "Fast-22"})
    reply, properties = plugin.reply(cid, message_id)
    assert reply[:2] == [3, message_id]
    get_validator(3, "BootNotification", "1.6").validate(reply[2])
    assert reply[2]["status"] == "Accepted" and reply[2]["interval"] == 300  # the stack runs with accept
    assert properties["content_type"] == "application/json"
    assert properties["expiration"] == str(TTL_SECONDS * 1000)  # a reply waiting for a reconnect goes stale
    charge_point = ChargePoint.objects.get(charge_point_id=cid)
    assert (charge_point.transport, charge_point.dialect, charge_point.ocpp_version) == ("amqp", "ocppj", "1.6")
    assert charge_point.online and (charge_point.vendor, charge_point.model) == ("ACME", "Fast-22")
    # The configuration is read after an accepted boot: a command, over AMQP, and its result.
    get_configuration = plugin.next_call(cid)
    assert get_configuration[2:] == ["GetConfiguration", {}]
    plugin.send(
        cid,
        [
            3,
            get_configuration[1],
            {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]},
        ],
        action_of_call="GetConfiguration",
    )
    wait_for(lambda: charge_point.configuration.filter(key="HeartbeatInterval", value="300").exists(), what="config")
    assert MessageLog.objects.filter(charge_point_id=cid, topic="ocpp16.BootNotification.req").count() == 1


def test_a_charging_session_over_amqp(plugin: Plugin, cid: str) -> None:
    IdTag.objects.create(id_tag="AMQP-CARD")
    boot(plugin, cid)
    assert call_ok(plugin, cid, "Authorize", {"idTag": "AMQP-CARD"})["idTagInfo"]["status"] == "Accepted"
    status = {"connectorId": 1, "status": "Preparing", "errorCode": "NoError", "timestamp": NOW}
    call_ok(plugin, cid, "StatusNotification", status)
    start = call_ok(
        plugin, cid, "StartTransaction", {"connectorId": 1, "idTag": "AMQP-CARD", "meterStart": 100, "timestamp": NOW}
    )
    meter = {"timestamp": "2026-11-23T10:01:00Z", "sampledValue": [{"value": "600", "unit": "Wh"}]}
    call_ok(
        plugin, cid, "MeterValues", {"connectorId": 1, "transactionId": start["transactionId"], "meterValue": [meter]}
    )
    stop = {"transactionId": start["transactionId"], "meterStop": 2100, "timestamp": "2026-11-23T11:00:00Z"}
    call_ok(plugin, cid, "StopTransaction", stop)
    transaction = Transaction.objects.get(pk=start["transactionId"])
    assert transaction.charge_point.charge_point_id == cid and transaction.energy_wh == 2000


def test_a_command_goes_out_over_amqp_and_its_result_is_recorded(plugin: Plugin, cid: str) -> None:
    boot(plugin, cid)
    wait_for(lambda: not Command.objects.filter(charge_point__charge_point_id=cid, status="sent").exists(), what="free")
    command = command_enqueue(
        charge_point=ChargePoint.objects.get(charge_point_id=cid), action="ChangeAvailability",
        payload={"connectorId": 1, "type": "Inoperative"},
    )  # fmt: skip
    call = plugin.next_call(cid)
    assert call == [2, command.message_id, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}]
    plugin.send(cid, [3, command.message_id, {"status": "Accepted"}], action_of_call="ChangeAvailability")
    wait_for(lambda: Command.objects.get(pk=command.pk).status == Command.Status.ACCEPTED, what="accepted")


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_plugins_offline_notice_marks_the_charger_offline_and_is_never_answered(
    plugin: Plugin, cid: str, version: str
) -> None:
    if version == "1.6":
        boot(plugin, cid)
        assert ChargePoint.objects.get(charge_point_id=cid).online
    plugin.offline(cid, version=version)
    wait_for(
        lambda: (
            ChargePoint.objects.filter(charge_point_id=cid, online=False).exists()
            and MessageLog.objects.filter(charge_point_id=cid, kind="presence", action="disconnected").exists()
        ),
        what="offline",
    )
    assert plugin.nothing_for(cid)  # nobody is on the socket to read an answer
    if version == "1.6":  # there is no online event: the next frame is one
        call_ok(plugin, cid, "Heartbeat", {})
        assert ChargePoint.objects.get(charge_point_id=cid).online


def test_deliveries_naming_no_charger_are_refused_kept_and_do_not_block_the_queue(plugin: Plugin, cid: str) -> None:
    marker = uuid.uuid4().hex[:8]
    body = [2, f"bad-{marker}", "Heartbeat", {}]
    plugin.publish(body, routing_key="ocpp16.Heartbeat.req", reply_to=None)
    plugin.publish(body, routing_key="ocpp16.Heartbeat.req", reply_to=f"CP.{marker}")
    plugin.publish(body, routing_key="ocpp16.Heartbeat.req", reply_to=f"CP*{marker}")
    plugin.publish(body, routing_key="ocpp16.Heartbeat.req", reply_to=b"\xff" + marker.encode())
    assert "currentTime" in call_ok(plugin, cid, "Heartbeat", {})  # what came after them is handled
    raw = f'[2, "bad-{marker}", "Heartbeat", {{}}]'
    wait_for(lambda: MessageLog.objects.filter(raw=raw).count() == 4, what="four refusals in the message log")
    reasons = sorted(MessageLog.objects.filter(raw=raw).values_list("error_code", flat=True))
    assert reasons == ["bad_charge_point_id", "bad_charge_point_id", "bad_charge_point_id", "no_charge_point_id"]


def test_an_unparseable_body_is_answered_when_its_call_id_can_be_read_and_kept_when_not(
    plugin: Plugin, cid: str
) -> None:
    plugin.connect(cid)
    plugin.publish(b'[2, "cut-1", "Heartbeat", {', routing_key="ocpp16.Heartbeat.req", reply_to=cid)
    reply, _ = plugin.reply(cid, "cut-1")
    assert reply[:3] == [4, "cut-1", "FormationViolation"]  # 1.6's spelling: the routing key said 1.6
    plugin.publish(b"\xffgarbage", routing_key="ocpp16.Heartbeat.req", reply_to=cid)
    wait_for(
        lambda: MessageLog.objects.filter(charge_point_id=cid, error_code="not_json").exists(), what="kept as not_json"
    )
    assert plugin.nothing_for(cid)
    # A Call failing its schema is answered with the version's error, as on any transport.
    message_id = plugin.call(cid, "StatusNotification", {"connectorId": 1, "status": "Available"})
    reply, _ = plugin.reply(cid, message_id)
    assert reply[0] == 4 and reply[2] == "OccurenceConstraintViolation"


def test_a_bridge_restart_with_frames_waiting_loses_nothing(amqp_stack: AmqpStack, plugin: Plugin, cid: str) -> None:
    assert amqp_stack.stack.stop_bridge() == 0
    try:
        sent = [plugin.call(cid, "Heartbeat", {}) for _ in range(3)]  # into our durable queue meanwhile
    finally:
        amqp_stack.stack.start_bridge()
    for message_id in sent:
        reply, _ = plugin.reply(cid, message_id, timeout=30)
        assert reply[0] == 3 and "currentTime" in reply[2]
