"""A worker's handling of a batch of Calls (``calls_handle``): same answers as one by one, few statements."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargers.models import ChargePoint, Connector, ConnectorStatusChange, IdTag
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import InboundCall, MessageLog
from mqtt_bridge.processing import calls_handle
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
    # Lock, stored replies, the action's 1-2 statements in a savepoint, replies, presence, log.
    assert many <= 11
