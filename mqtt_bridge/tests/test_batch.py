"""A worker's handling of a batch of Calls (``calls_handle``): same answers as one by one, few statements."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargers.models import (
    ChargePoint,
    ChargerEvent,
    Command,
    ConfigurationKey,
    Connector,
    ConnectorStatusChange,
    IdTag,
)
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import InboundCall, MessageLog
from mqtt_bridge.processing import calls_handle
from mqtt_bridge.tasks import handle_frames
from transactions.models import MeterValue, Transaction

pytestmark = pytest.mark.django_db

BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}


def call(cid: str, action: str, payload: dict[str, Any], message_id: str = "m1") -> Frame:
    return Frame(
        charge_point_id=cid, kind=Kind.CALL, message_id=message_id, action=action, payload=payload, received_at=utcnow()
    )


def status(connector: int = 1, state: str = "Available") -> dict[str, Any]:
    return {"connectorId": connector, "status": state, "errorCode": "NoError"}


def meter(connector: int, transaction_id: int | None, value: str, at: str = "2026-11-23T10:05:00Z") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "connectorId": connector,
        "meterValue": [{"timestamp": at, "sampledValue": [{"value": value}]}],
    }
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload


def test_replies_come_back_in_the_order_of_the_calls(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    frames = [
        call("CP-A", "Heartbeat", {}),
        call("CP-B", "StatusNotification", status()),
        call("CP-C", "BootNotification", BOOT),
        call("CP-D", "NoSuchAction", {}),
    ]
    replies = calls_handle(frames)
    assert [(r.charge_point_id, r.message_id) for r in replies] == [(f.charge_point_id, "m1") for f in frames]
    assert "currentTime" in replies[0].payload
    assert replies[1].payload == {}
    assert replies[2].payload["status"] == "Accepted"
    assert replies[3].kind == Kind.ERROR and replies[3].error_code == "NotImplemented"
    assert set(ChargePoint.objects.values_list("charge_point_id", flat=True)) == {"CP-A", "CP-B", "CP-C", "CP-D"}
    assert ChargePoint.objects.filter(online=True).count() == 4
    assert ChargePoint.objects.get(charge_point_id="CP-A").last_heartbeat_at is not None
    assert MessageLog.objects.count() == 8


def test_one_chargers_calls_apply_in_order_within_a_batch() -> None:
    # A status for connector 1 twice in one batch: the later one wins, both are in the history.
    replies = calls_handle(
        [
            call("CP-A", "StatusNotification", status(1, "Preparing"), "1"),
            call("CP-B", "StatusNotification", status(1, "Available"), "1"),
            call("CP-A", "StatusNotification", status(1, "Charging"), "2"),
        ]
    )
    assert all(r.kind == Kind.RESULT for r in replies)
    assert Connector.objects.get(charge_point__charge_point_id="CP-A", connector_id=1).status == "Charging"
    history = ConnectorStatusChange.objects.filter(connector__charge_point__charge_point_id="CP-A").order_by("id")
    assert [h.status for h in history] == ["Preparing", "Charging"]


def test_a_redelivery_inside_the_same_batch_is_a_duplicate() -> None:
    frame = call("CP-A", "StatusNotification", status())
    first, second = calls_handle([frame, frame])
    assert first == second
    assert ConnectorStatusChange.objects.count() == 1
    assert MessageLog.objects.filter(error_description="duplicate delivery").count() == 1
    assert InboundCall.objects.count() == 1


def test_a_bad_value_in_a_bulk_action_fails_only_its_own_call() -> None:
    # connectorId 2^40 passes the schema but not our column: the bulk INSERT fails, and the
    # batch is applied again one Call at a time, so only that Call gets the error.
    replies = calls_handle(
        [
            call("CP-A", "StatusNotification", status(1)),
            call("CP-B", "StatusNotification", status(2**40)),
            call("CP-C", "StatusNotification", status(2)),
            call("CP-D", "StatusNotification", {"connectorId": 1, "status": "Nope", "errorCode": "NoError"}),
        ]
    )
    assert [r.kind for r in replies] == [Kind.RESULT, Kind.ERROR, Kind.RESULT, Kind.ERROR]
    assert replies[1].error_code == "PropertyConstraintViolation"
    assert replies[3].error_code == "PropertyConstraintViolation"
    assert sorted(Connector.objects.values_list("charge_point__charge_point_id", "connector_id")) == [
        ("CP-A", 1),
        ("CP-C", 2),
    ]


def test_a_value_out_of_range_for_its_column_fails_only_its_own_call() -> None:
    # connectorId 2^40 passes the schema but not our column. Meter values go in with COPY
    # (psycopg's own cursor): its error must still be the DataError that becomes a
    # PropertyConstraintViolation, not an InternalError.
    signed = "OCMF|" + "x" * 600  # a signed meter value: hundreds of characters, all kept
    replies = calls_handle(
        [
            call("CP-A", "MeterValues", meter(1, None, signed)),
            call("CP-B", "MeterValues", meter(2**40, None, "5")),
            call("CP-C", "Heartbeat", {}),
        ]
    )
    assert [r.kind for r in replies] == [Kind.RESULT, Kind.ERROR, Kind.RESULT]
    assert replies[1].error_code == "PropertyConstraintViolation"
    assert list(MeterValue.objects.values_list("charge_point__charge_point_id", "value")) == [("CP-A", signed)]


def test_meter_values_of_many_chargers_link_to_their_own_sessions_only() -> None:
    start = {"connectorId": 1, "idTag": "T1", "meterStart": 0, "timestamp": "2026-11-23T10:00:00Z"}
    a, b = calls_handle([call("CP-A", "StartTransaction", start), call("CP-B", "StartTransaction", start)])
    tx_a, tx_b = a.payload["transactionId"], b.payload["transactionId"]
    replies = calls_handle(
        [
            call("CP-A", "MeterValues", meter(1, tx_a, "100"), "2"),
            call("CP-B", "MeterValues", meter(1, tx_a, "200"), "2"),  # names CP-A's session: not linked
            call("CP-C", "MeterValues", meter(1, None, "300"), "2"),
        ]
    )
    assert all(r.kind == Kind.RESULT for r in replies)
    rows = {mv.charge_point.charge_point_id: mv for mv in MeterValue.objects.select_related("charge_point")}
    assert rows["CP-A"].transaction_id == tx_a and rows["CP-A"].numeric_value == 100
    assert rows["CP-B"].transaction_id is None and rows["CP-B"].value == "200"
    assert rows["CP-C"].transaction_id is None
    assert Transaction.objects.get(pk=tx_b).meter_values.count() == 0


def test_a_bad_timestamp_in_a_bulk_action_is_answered_before_anything_is_written() -> None:
    replies = calls_handle(
        [
            call("CP-A", "MeterValues", meter(1, None, "1", at="yesterday")),
            call("CP-B", "MeterValues", meter(1, None, "2")),
        ]
    )
    assert replies[0].kind == Kind.ERROR and replies[0].error_code == "PropertyConstraintViolation"
    assert replies[1].kind == Kind.RESULT
    assert list(MeterValue.objects.values_list("value", flat=True)) == ["2"]


def test_authorize_answers_each_charger_about_its_own_tag(settings: Any) -> None:
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "reject"
    parent = IdTag.objects.create(id_tag="FLEET", status="Accepted")
    IdTag.objects.create(id_tag="GOOD", status="Accepted", parent=parent)
    IdTag.objects.create(id_tag="OLD", status="Accepted", expiry_date=timezone.now() - timedelta(days=1))
    IdTag.objects.create(id_tag="STOLEN", status="Blocked")
    ChargePoint.objects.create(charge_point_id="CP-PENDING", registration_status="Pending")
    requests = [("CP-A", "GOOD"), ("CP-B", "OLD"), ("CP-C", "STOLEN"), ("CP-D", "NOBODY"), ("CP-PENDING", "GOOD")]
    for cid, _ in requests[:4]:
        ChargePoint.objects.create(charge_point_id=cid, registration_status="Accepted")
    replies = calls_handle([call(cid, "Authorize", {"idTag": tag}) for cid, tag in requests])
    assert [r.payload["idTagInfo"]["status"] for r in replies] == [
        "Accepted",
        "Expired",
        "Blocked",
        "Invalid",
        "Invalid",
    ]
    assert replies[0].payload["idTagInfo"]["parentIdTag"] == "FLEET"


@pytest.mark.parametrize("action", ["Heartbeat", "StatusNotification", "MeterValues", "Authorize"])
def test_statements_per_batch_do_not_grow_with_the_batch(action: str) -> None:
    payloads = {
        "Heartbeat": {},
        "StatusNotification": status(),
        "MeterValues": meter(1, None, "5"),
        "Authorize": {"idTag": "T1"},
    }

    def statements(count: int, round_: str) -> int:
        frames = [call(f"CP-{i}", action, payloads[action], round_) for i in range(count)]
        calls_handle(frames)  # the chargers exist from here on
        frames = [call(f"CP-{i}", action, payloads[action], f"{round_}-again") for i in range(count)]
        if action == "MeterValues":
            frames = [
                call(f"CP-{i}", action, meter(1, None, "6", at="2026-11-23T10:06:00Z"), f"{round_}-again")
                for i in range(count)
            ]
        with CaptureQueriesContext(connection) as queries:
            replies = calls_handle(frames)
        assert all(r.kind == Kind.RESULT for r in replies)
        return len(queries)

    few, many = statements(3, "a"), statements(60, "b")
    assert few == many
    # Lock, stored replies, the action's 1-3 statements in a savepoint (StatusNotification: EVSEs,
    # connectors, history), replies, presence, log.
    assert many <= 12


def start(at: str = "2026-11-23T10:00:00Z", tag: str = "T1", connector: int = 1, meter_start: int = 100) -> dict:
    return {"connectorId": connector, "idTag": tag, "meterStart": meter_start, "timestamp": at}


def stop(transaction_id: int, at: str = "2026-11-23T11:00:00Z", **extra: Any) -> dict:
    return {"transactionId": transaction_id, "meterStop": 900, "timestamp": at, **extra}


def test_starts_of_many_chargers_in_one_batch(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    calls_handle([call(cid, "Heartbeat", {}, "boot") for cid in ("CP-A", "CP-B", "CP-C", "CP-D")])
    cp_b, cp_c, cp_d = (ChargePoint.objects.get(charge_point_id=cid) for cid in ("CP-B", "CP-C", "CP-D"))
    (replayed,) = calls_handle([call("CP-B", "StartTransaction", start(), "first")])
    (lost,) = calls_handle([call("CP-C", "StartTransaction", start(), "first")])
    remote = Command.objects.create(
        charge_point=cp_d,
        action="RemoteStartTransaction",
        message_id="remote-1",
        request={"idTag": "APP", "connectorId": 2},
        status=Command.Status.ACCEPTED,
        completed_at=timezone.now(),
    )
    IdTag.objects.create(id_tag="BLOCKED", status="Blocked")

    replies = calls_handle(
        [
            call("CP-A", "StartTransaction", start(tag="BLOCKED")),
            call("CP-B", "StartTransaction", start(), "replay"),  # the offline queue resends it
            call("CP-C", "StartTransaction", start(at="2026-11-23T12:00:00Z", meter_start=5000)),
            call("CP-D", "StartTransaction", start(tag="APP", connector=2)),
        ]
    )
    assert all(reply.kind == Kind.RESULT for reply in replies)
    ids = [reply.payload["transactionId"] for reply in replies]
    assert len(set(ids)) == 4
    assert ids[1] == replayed.payload["transactionId"]
    assert replies[0].payload["idTagInfo"] == {"status": "Blocked"}
    assert Transaction.objects.get(pk=ids[0]).id_tag_status == "Blocked"  # recorded all the same
    assert Transaction.objects.filter(charge_point=cp_b).count() == 1
    closed = Transaction.objects.get(pk=lost.payload["transactionId"])
    assert closed.stopped_at is not None
    assert (closed.stop_reason, closed.stopped_at.isoformat()) == ("Other", "2026-11-23T12:00:00+00:00")
    assert Transaction.objects.get(pk=ids[2]).stopped_at is None
    assert Transaction.objects.filter(charge_point=cp_c).count() == 2
    remote.refresh_from_db()
    assert remote.transaction_id == ids[3]


def test_stops_of_many_chargers_in_one_batch(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    cids = ("CP-A", "CP-B", "CP-C", "CP-D")
    IdTag.objects.create(id_tag="T1", status="Accepted")
    started = calls_handle([call(cid, "StartTransaction", start()) for cid in cids])
    id_a, id_b, id_c, id_d = (reply.payload["transactionId"] for reply in started)
    (first_stop,) = calls_handle([call("CP-C", "StopTransaction", stop(id_c, reason="EVDisconnected"), "early")])
    samples = [{"timestamp": "2026-11-23T10:30:00Z", "sampledValue": [{"value": "450", "measurand": "SoC"}]}]

    replies = calls_handle(
        [
            call("CP-A", "StopTransaction", stop(id_a, idTag="T1", transactionData=samples), "stop"),
            call("CP-B", "StopTransaction", stop(id_d), "stop"),  # CP-D's session: not CP-B's to stop
            call("CP-C", "StopTransaction", stop(id_c, reason="Remote"), "again"),  # a second stop
            call("CP-D", "StopTransaction", stop(999_999), "stop"),  # no such session
        ]
    )
    assert [reply.kind for reply in replies] == [Kind.RESULT] * 4
    assert replies[0].payload == {"idTagInfo": {"status": "Accepted"}}
    assert replies[1].payload == replies[2].payload == replies[3].payload == {}
    a, b, c, d = (Transaction.objects.get(pk=pk) for pk in (id_a, id_b, id_c, id_d))
    assert (a.meter_stop, a.stop_reason, a.stop_id_tag, a.energy_wh) == (900, "Local", "T1", 800)
    assert b.stopped_at is None and d.stopped_at is None
    assert c.stop_reason == "EVDisconnected" and first_stop.kind == Kind.RESULT
    value = MeterValue.objects.get(transaction=a)
    assert (value.measurand, value.numeric_value, value.connector_id) == ("SoC", 450.0, 1)
    unknown = ChargerEvent.objects.filter(kind="unknown_transaction_stop").order_by("charge_point__charge_point_id")
    assert [(e.charge_point.charge_point_id, e.status) for e in unknown] == [("CP-B", str(id_d)), ("CP-D", "999999")]


def test_statements_for_starts_and_stops_do_not_grow_with_the_batch(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    samples = [{"timestamp": "2026-11-23T10:30:00Z", "sampledValue": [{"value": "1"}, {"value": "2", "phase": "L1"}]}]

    def statements(count: int, prefix: str) -> tuple[int, int]:
        cids = [f"{prefix}-{i}" for i in range(count)]
        calls_handle([call(cid, "Heartbeat", {}) for cid in cids])  # the chargers exist from here on
        with CaptureQueriesContext(connection) as starts:
            replies = calls_handle([call(cid, "StartTransaction", start(), "start") for cid in cids])
        ids = [reply.payload["transactionId"] for reply in replies]
        stops = [
            call(cid, "StopTransaction", stop(tid, idTag="T1", transactionData=samples), "stop")
            for cid, tid in zip(cids, ids, strict=True)
        ]
        with CaptureQueriesContext(connection) as stopped:
            replies = calls_handle(stops)
        assert all(reply.kind == Kind.RESULT for reply in replies)
        assert Transaction.objects.filter(charge_point__charge_point_id__in=cids, meter_stop=900).count() == count
        assert MeterValue.objects.filter(charge_point__charge_point_id__in=cids).count() == 2 * count
        return len(starts), len(stopped)

    assert statements(3, "a") == statements(60, "b")


def sent(cid: str, action: str = "GetConfiguration", message_id: str = "") -> Command:
    charge_point, _ = ChargePoint.objects.get_or_create(charge_point_id=cid)
    return Command.objects.create(
        charge_point=charge_point,
        action=action,
        message_id=message_id or f"c-{cid}",
        request={},
        status=Command.Status.SENT,
        sent_at=timezone.now(),
    )


def result(cid: str, payload: dict[str, Any], message_id: str = "") -> Frame:
    return Frame(
        charge_point_id=cid,
        kind=Kind.RESULT,
        message_id=message_id or f"c-{cid}",
        payload=payload,
        received_at=utcnow(),
    )


def configuration(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"configurationKey": [{"key": key, "value": value, "readonly": False} for key, value in pairs]}


def test_results_of_many_chargers_in_one_batch() -> None:
    get_a, get_b, reset_c = sent("CP-A"), sent("CP-B"), sent("CP-C", "Reset")
    ConfigurationKey.objects.create(
        charge_point=get_b.charge_point, key="HeartbeatInterval", value="60", updated_at=timezone.now()
    )
    error = Frame(charge_point_id="CP-C", kind=Kind.ERROR, message_id="c-CP-C", error_code="NotSupported")

    handle_frames.run(
        [
            {
                "frame": result(
                    "CP-A", configuration(("HeartbeatInterval", "300"), ("MeterValueSampleInterval", "60"))
                ).to_task()
            },
            {"frame": result("CP-B", configuration(("HeartbeatInterval", "900"))).to_task()},
            {"frame": error.to_task()},
            {"frame": result("CP-A", configuration(("HeartbeatInterval", "1"))).to_task()},  # the same answer again
            {"frame": result("CP-D", {}, message_id="nobody").to_task()},
        ]
    )
    values = dict(ConfigurationKey.objects.filter(charge_point=get_a.charge_point).values_list("key", "value"))
    assert values == {"HeartbeatInterval": "300", "MeterValueSampleInterval": "60"}  # applied once
    assert ConfigurationKey.objects.get(charge_point=get_b.charge_point).value == "900"
    for command in (get_a, get_b, reset_c):
        command.refresh_from_db()
    assert (get_a.status, get_b.status, reset_c.status, reset_c.error_code) == (
        "accepted",
        "accepted",
        "failed",
        "NotSupported",
    )
    notes = dict(MessageLog.objects.filter(direction="in").values_list("message_id", "error_description"))
    assert notes["c-CP-B"] == "" and notes["nobody"].startswith("unmatched")
    assert MessageLog.objects.filter(message_id="c-CP-A", error_description__startswith="late").count() == 1
    assert ChargePoint.objects.get(charge_point_id="CP-A").online


def test_statements_per_batch_of_results_do_not_grow_with_the_batch() -> None:
    def statements(count: int, prefix: str) -> int:
        for i in range(count):
            sent(f"{prefix}-{i}")
        frames = [result(f"{prefix}-{i}", configuration(("A", "1"), ("B", "2"))) for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            handle_frames.run([{"frame": frame.to_task()} for frame in frames])
        assert (
            ConfigurationKey.objects.filter(charge_point__charge_point_id__startswith=f"{prefix}-").count() == 2 * count
        )
        return len(queries)

    assert statements(3, "a") == statements(60, "b")
