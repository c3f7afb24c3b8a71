"""Blocks C, E, F (remote start), J for a 2.0.1 station, through the worker's handling of its Calls
(``calls_handle`` with 2.0.1 frames, real PostgreSQL): Authorize, TransactionEvent, MeterValues."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargers.models import ChargePoint, Command, IdTag
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import calls_handle
from protocols.validation import validate
from transactions.models import MeterValue, Transaction, TransactionEvent

pytestmark = pytest.mark.django_db

V201 = "2.0.1"
AT = "2026-11-23T10:00:00Z"
_message_ids = itertools.count()


def call(action: str, payload: dict[str, Any], cid: str = "CS-1", message_id: str | None = None) -> Frame:
    """A Call as the 2.0.1 route hands it to the worker."""
    return Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id=message_id or f"m{next(_message_ids)}",
        action=action,
        payload=payload,
        ocpp_version=V201,
        dialect="ocppj",
        received_at=utcnow(),
    )


def answered(*frames: Frame) -> list[dict[str, Any]]:
    """Apply the Calls; every one must get a schema-valid CallResult. Their payloads."""
    replies = calls_handle(list(frames))
    for frame, reply in zip(frames, replies, strict=True):
        assert reply.kind == Kind.RESULT, reply
        validate(Kind.RESULT, frame.action, reply.payload, V201)
    return [reply.payload for reply in replies]


@pytest.fixture(autouse=True)
def station() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CS-1", registration_status="Accepted", ocpp_version=V201)


def token(value: str = "100000C01", kind: str = "Central") -> dict[str, str]:
    return {"idToken": value, "type": kind}


def authorize(value: str = "100000C01", kind: str = "Central") -> dict[str, Any]:
    (reply,) = answered(call("Authorize", {"idToken": token(value, kind)}))
    return reply["idTokenInfo"]


def tx_event(
    event_type: str, seq_no: int, trigger: str = "ChargingStateChanged", at: str = AT, tx: str = "TX-1", **extra: Any
) -> dict[str, Any]:
    info = {"transactionId": tx, **extra.pop("info", {})}
    return {
        "eventType": event_type,
        "timestamp": at,
        "triggerReason": trigger,
        "seqNo": seq_no,
        "transactionInfo": info,
        **extra,
    }


def meter(value: float, at: str = AT, **sampled: Any) -> list[dict[str, Any]]:
    return [{"timestamp": at, "sampledValue": [{"value": value, **sampled}]}]


def moment(hh_mm: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-23T{hh_mm}:00+00:00")


def session(tx: str = "TX-1", cid: str = "CS-1") -> Transaction:
    return Transaction.objects.get(charge_point__charge_point_id=cid, charger_transaction_id=tx)


# --- C. Authorization ---------------------------------------------------------------------------------


def test_authorize_accepts_a_known_token() -> None:
    IdTag.objects.create(id_tag="100000C01", type="Central")
    assert authorize() == {"status": "Accepted"}


def test_TC_C_02_CSMS_an_unknown_token_is_unknown(settings: Any) -> None:
    settings.CSMS_UNKNOWN_ID_TAG_POLICY = "invalid"
    assert authorize("NOBODY", "ISO14443") == {"status": "Unknown"}
    # Stored, but as another type: not this token.
    IdTag.objects.create(id_tag="NOBODY", type="eMAID")
    assert authorize("NOBODY", "ISO14443") == {"status": "Unknown"}


def test_TC_C_02_CSMS_a_token_of_a_type_we_do_not_take_is_invalid_not_a_call_error() -> None:
    IdTag.objects.create(id_tag="100000C02", type="Central")
    assert authorize("100000C02", "Cash") == {"status": "Invalid"}


def test_TC_C_06_CSMS_a_blocked_token_is_blocked() -> None:
    IdTag.objects.create(id_tag="BLOCKED", type="ISO14443", status="Blocked")
    assert authorize("BLOCKED", "ISO14443") == {"status": "Blocked"}


def test_TC_C_07_CSMS_an_expired_token_is_expired() -> None:
    expired = timezone.now() - timedelta(days=1)
    IdTag.objects.create(id_tag="OLD", type="ISO14443", expiry_date=expired)
    info = authorize("OLD", "ISO14443")
    assert info["status"] == "Expired" and info["cacheExpiryDateTime"].endswith("Z")


def test_TC_C_39_CSMS_tokens_of_a_group_are_answered_with_their_group_id_token() -> None:
    group = IdTag.objects.create(id_tag="GROUP-1", type="Central")
    IdTag.objects.create(id_tag="CARD-A", type="ISO14443", parent=group)
    IdTag.objects.create(id_tag="CARD-B", type="ISO15693", parent=group)
    expected = {"status": "Accepted", "groupIdToken": {"idToken": "GROUP-1", "type": "Central"}}
    assert authorize("CARD-A", "ISO14443") == expected
    (reply,) = answered(
        call(
            "TransactionEvent",
            tx_event("Started", 0, "Authorized", idToken=token("CARD-B", "ISO15693"), evse={"id": 1}),
        )
    )
    assert reply == {"idTokenInfo": expected}


def test_TC_C_08_CSMS_a_token_from_the_stations_cache_in_an_updated_event_gets_its_status() -> None:
    IdTag.objects.create(id_tag="100000C01", type="Central")
    answered(call("TransactionEvent", tx_event("Started", 0, "EVDetected", evse={"id": 1, "connectorId": 1})))
    (reply,) = answered(call("TransactionEvent", tx_event("Updated", 1, "Authorized", idToken=token())))
    assert reply == {"idTokenInfo": {"status": "Accepted"}}
    assert (session().id_tag, session().id_tag_status) == ("100000C01", "Accepted")


# --- E. Transactions ----------------------------------------------------------------------------------


def test_TC_E_01_CSMS_start_on_power_path_closed_then_charging() -> None:
    IdTag.objects.create(id_tag="100000C01", type="Central")
    assert authorize() == {"status": "Accepted"}
    started = tx_event(
        "Started", 0, idToken=token(), evse={"id": 1, "connectorId": 1}, info={"chargingState": "SuspendedEVSE"}
    )
    charging = tx_event("Updated", 1, at="2026-11-23T10:00:05Z", info={"chargingState": "Charging"})
    replies = [answered(call("TransactionEvent", payload))[0] for payload in (started, charging)]
    assert replies == [{"idTokenInfo": {"status": "Accepted"}}, {}]
    tx = session()
    assert (tx.evse_id, tx.connector_id, tx.charging_state, tx.id_tag, tx.id_token_type) == (
        1,
        1,
        "Charging",
        "100000C01",
        "Central",
    )
    assert tx.is_active


def test_TC_E_09_CSMS_start_on_ev_connected_without_a_token() -> None:
    (reply,) = answered(
        call(
            "TransactionEvent",
            tx_event(
                "Started", 0, "CablePluggedIn", evse={"id": 1, "connectorId": 1}, info={"chargingState": "EVConnected"}
            ),
        )
    )
    assert reply == {}
    assert (session().charging_state, session().id_tag, session().meter_start) == ("EVConnected", "", None)


def test_TC_E_16_CSMS_a_session_with_a_cash_token_is_answered_invalid_and_recorded() -> None:
    (started,) = answered(
        call(
            "TransactionEvent",
            tx_event("Started", 0, "Authorized", idToken=token("100000C02", "Cash"), evse={"id": 1, "connectorId": 1}),
        )
    )
    assert started == {"idTokenInfo": {"status": "Invalid"}}
    ended = tx_event("Ended", 1, "Deauthorized", at="2026-11-23T10:00:02Z", info={"stoppedReason": "DeAuthorized"})
    assert answered(call("TransactionEvent", ended)) == [{}]
    tx = session()
    assert (tx.id_token_type, tx.id_tag_status, tx.stop_reason, tx.is_active) == (
        "Cash",
        "Invalid",
        "DeAuthorized",
        False,
    )


def test_TC_E_14_CSMS_a_whole_session_with_its_energy() -> None:
    IdTag.objects.create(id_tag="100000C01", type="Central")
    events = [
        tx_event(
            "Started",
            0,
            "Authorized",
            idToken=token(),
            evse={"id": 1, "connectorId": 1},
            meterValue=meter(1000, context="Transaction.Begin"),
            info={"chargingState": "Charging"},
        ),
        tx_event(
            "Updated",
            1,
            "MeterValuePeriodic",
            at="2026-11-23T10:30:00Z",
            meterValue=meter(1.75, "2026-11-23T10:30:00Z", unitOfMeasure={"unit": "kWh"}),
            info={"timeSpentCharging": 1800},
        ),
        tx_event(
            "Ended",
            2,
            "EVDeparted",
            at="2026-11-23T11:00:00Z",
            meterValue=meter(2500, "2026-11-23T11:00:00Z", context="Transaction.End"),
            info={"stoppedReason": "EVDisconnected", "chargingState": "Idle"},
        ),
    ]
    for payload in events:
        answered(call("TransactionEvent", payload))
    tx = session()
    assert (tx.meter_start, tx.meter_stop, tx.energy_wh, tx.time_spent_charging) == (1000, 2500, 1500, 1800)
    assert (tx.stop_reason, tx.charging_state, tx.stopped_at) == ("EVDisconnected", "Idle", moment("11:00"))
    assert tx.meter_values.count() == 3 and tx.events.count() == 3


def test_TC_E_53_CSMS_every_session_starts_its_seq_no_at_zero() -> None:
    for tx in ("TX-A", "TX-B"):
        answered(call("TransactionEvent", tx_event("Started", 0, tx=tx, evse={"id": 1})))
        answered(call("TransactionEvent", tx_event("Ended", 1, tx=tx, at="2026-11-23T10:10:00Z")))
    assert TransactionEvent.objects.filter(seq_no=0).count() == 2
    assert [session(tx).stopped_at is not None for tx in ("TX-A", "TX-B")] == [True, True]


def test_a_replayed_seq_no_under_a_new_message_id_gets_the_same_reply_and_no_second_effect() -> None:
    card = IdTag.objects.create(id_tag="100000C01", type="Central")
    started = tx_event("Started", 0, "Authorized", idToken=token(), evse={"id": 1}, meterValue=meter(100))
    first = calls_handle([call("TransactionEvent", started, message_id="first")])[0]
    card.status = "Blocked"
    card.save()
    # The station's offline queue sends the same event again, under a new message id.
    again = calls_handle([call("TransactionEvent", started, message_id="again")])[0]
    assert again.payload == first.payload == {"idTokenInfo": {"status": "Accepted"}}
    assert TransactionEvent.objects.count() == 1 and MeterValue.objects.count() == 1
    assert session().id_tag_status == "Accepted"


def test_an_ended_session_never_reopens() -> None:
    answered(call("TransactionEvent", tx_event("Started", 0, evse={"id": 1})))
    answered(
        call("TransactionEvent", tx_event("Ended", 2, at="2026-11-23T10:20:00Z", info={"stoppedReason": "Remote"}))
    )
    # An Updated from before the end, delivered after it (offline), and a late Started.
    answered(
        call(
            "TransactionEvent",
            tx_event("Updated", 1, at="2026-11-23T10:10:00Z", offline=True, info={"chargingState": "Charging"}),
        )
    )
    answered(call("TransactionEvent", tx_event("Started", 3, at="2026-11-23T10:30:00Z")))
    tx = session()
    assert (tx.stopped_at, tx.stop_reason) == (moment("10:20"), "Remote")


def test_events_out_of_order_in_one_batch_build_the_session_of_the_right_order() -> None:
    IdTag.objects.create(id_tag="100000C01", type="Central")
    events = [
        tx_event(
            "Started",
            0,
            "Authorized",
            idToken=token(),
            evse={"id": 1, "connectorId": 1},
            meterValue=meter(10),
            info={"chargingState": "Charging"},
        ),
        tx_event(
            "Updated",
            1,
            "MeterValuePeriodic",
            at="2026-11-23T10:05:00Z",
            offline=True,
            meterValue=meter(60, "2026-11-23T10:05:00Z"),
            info={"chargingState": "SuspendedEV"},
        ),
        tx_event(
            "Ended",
            2,
            "EVDeparted",
            at="2026-11-23T10:09:00Z",
            offline=True,
            meterValue=meter(90, "2026-11-23T10:09:00Z"),
            info={"stoppedReason": "EVDisconnected"},
        ),
    ]
    ChargePoint.objects.create(charge_point_id="CS-2", registration_status="Accepted", ocpp_version=V201)
    answered(*(call("TransactionEvent", payload, cid="CS-1") for payload in events))
    # One batch, the Ended first: each of the station's Calls is a wave of its own, in the order given.
    answered(*(call("TransactionEvent", payload, cid="CS-2") for payload in reversed(events)))
    fields = [
        "started_at",
        "stopped_at",
        "evse_id",
        "connector_id",
        "id_tag",
        "id_tag_status",
        "charging_state",
        "meter_start",
        "meter_stop",
        "stop_reason",
    ]
    in_order, reversed_ = (
        Transaction.objects.filter(charger_transaction_id="TX-1", charge_point__charge_point_id=cid)
        .values(*fields)
        .get()
        for cid in ("CS-1", "CS-2")
    )
    assert in_order == reversed_
    assert (in_order["meter_start"], in_order["meter_stop"], in_order["charging_state"]) == (10, 90, "SuspendedEV")


def test_an_event_for_a_transaction_never_started_builds_its_session() -> None:
    (reply,) = answered(
        call(
            "TransactionEvent",
            tx_event(
                "Updated",
                5,
                "MeterValuePeriodic",
                tx="STRANGER",
                evse={"id": 2, "connectorId": 1},
                meterValue=meter(700),
            ),
        )
    )
    assert reply == {}
    tx = session("STRANGER")
    assert (tx.evse_id, tx.connector_id, tx.meter_start, tx.is_active) == (2, 1, 700, True)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (tx_event("Started", 0, at="yesterday"), "timestamp"),
        (tx_event("Started", 0, meterValue=meter(1, "soon")), "meterValue.0.timestamp"),
        (tx_event("Started", 0, tx=""), "transactionInfo.transactionId"),
        (
            tx_event("Started", 0, meterValue=meter(1, unitOfMeasure={"multiplier": 400})),
            "meterValue.0.sampledValue.0.unitOfMeasure.multiplier",
        ),
        (tx_event("Started", 0, meterValue=meter(1e300)), "meterValue.0.sampledValue.0.value"),
    ],
)
def test_what_a_schema_cannot_check_is_a_property_constraint_violation_naming_the_field(
    payload: dict[str, Any], field: str
) -> None:
    (reply,) = calls_handle([call("TransactionEvent", payload)])
    assert (reply.kind, reply.error_code, reply.error_details["field"]) == (
        Kind.ERROR,
        "PropertyConstraintViolation",
        field,
    )
    assert not Transaction.objects.exists() and not TransactionEvent.objects.exists()


def test_a_bad_event_fails_only_its_own_call_in_a_wave() -> None:
    ChargePoint.objects.create(charge_point_id="CS-2", registration_status="Accepted", ocpp_version=V201)
    good = call("TransactionEvent", tx_event("Started", 0, evse={"id": 1}), cid="CS-1")
    bad = call("TransactionEvent", tx_event("Started", 0, at="nope"), cid="CS-2")
    replies = calls_handle([good, bad])
    assert [reply.kind for reply in replies] == [Kind.RESULT, Kind.ERROR]
    assert session().evse_id == 1


def test_statements_per_wave_of_transaction_events_do_not_grow_with_the_wave() -> None:
    IdTag.objects.create(id_tag="100000C01", type="Central")

    def statements(count: int, prefix: str) -> list[int]:
        cids = [f"{prefix}-{i}" for i in range(count)]
        ChargePoint.objects.bulk_create(
            [ChargePoint(charge_point_id=cid, registration_status="Accepted", ocpp_version=V201) for cid in cids]
        )
        waves = [
            tx_event(
                "Started",
                0,
                "Authorized",
                idToken=token(),
                evse={"id": 1, "connectorId": 1},
                meterValue=meter(0, context="Transaction.Begin"),
            ),
            tx_event(
                "Updated",
                1,
                "MeterValuePeriodic",
                at="2026-11-23T10:01:00Z",
                meterValue=meter(500, "2026-11-23T10:01:00Z") + meter(900, "2026-11-23T10:02:00Z"),
                info={"chargingState": "Charging"},
            ),
            tx_event(
                "Ended",
                2,
                "EVDeparted",
                at="2026-11-23T10:03:00Z",
                meterValue=meter(1200, "2026-11-23T10:03:00Z"),
                info={"stoppedReason": "EVDisconnected"},
            ),
        ]
        counts = []
        for payload in waves:
            with CaptureQueriesContext(connection) as queries:
                answered(*(call("TransactionEvent", payload, cid=cid) for cid in cids))
            counts.append(len(queries))
        assert Transaction.objects.filter(charge_point__charge_point_id__in=cids, meter_stop=1200).count() == count
        return counts

    assert statements(3, "a") == statements(40, "b")


# --- F. Remote control --------------------------------------------------------------------------------


def test_TC_F_01_CSMS_a_remote_start_after_plug_in_is_linked_by_its_remote_start_id(station: ChargePoint) -> None:
    command = Command.objects.create(
        charge_point=station,
        action="RequestStartTransaction",
        message_id="rs-1",
        status=Command.Status.ACCEPTED,
        request={"idToken": token(), "remoteStartId": 4242, "evseId": 1},
    )
    answered(
        call(
            "TransactionEvent",
            tx_event(
                "Started", 0, "CablePluggedIn", evse={"id": 1, "connectorId": 1}, info={"chargingState": "EVConnected"}
            ),
        )
    )
    command.refresh_from_db()
    assert command.transaction_id is None
    answered(call("TransactionEvent", tx_event("Updated", 1, "RemoteStart", info={"remoteStartId": 4242})))
    assert Command.objects.get(pk=command.pk).transaction_id == session().pk
    assert session().remote_start_id == 4242


# --- J. Meter values ----------------------------------------------------------------------------------


def test_TC_J_01_CSMS_clock_aligned_meter_values_without_a_session() -> None:
    for evse_id in (0, 1):
        assert answered(
            call("MeterValues", {"evseId": evse_id, "meterValue": meter(100.0, context="Sample.Clock")})
        ) == [{}]
    rows: list[tuple[Any, ...]] = list(
        MeterValue.objects.order_by("connector_id").values_list("connector_id", "context", "transaction_id")
    )
    assert rows == [(0, "Sample.Clock", None), (1, "Sample.Clock", None)]


def test_TC_J_02_CSMS_clock_aligned_meter_values_during_a_session_are_the_sessions() -> None:
    answered(call("TransactionEvent", tx_event("Started", 0, evse={"id": 1}, meterValue=meter(10))))
    answered(
        call("MeterValues", {"evseId": 1, "meterValue": meter(20, "2026-11-23T10:15:00Z", context="Sample.Clock")})
    )
    answered(
        call(
            "TransactionEvent",
            tx_event(
                "Updated",
                1,
                "MeterValueClock",
                at="2026-11-23T10:30:00Z",
                meterValue=meter(30, "2026-11-23T10:30:00Z", context="Sample.Clock"),
            ),
        )
    )
    assert set(session().meter_values.values_list("numeric_value", flat=True)) == {10, 20, 30}


def test_TC_J_11_CSMS_signed_meter_values_are_kept() -> None:
    signed = {"signedMeterData": "T0NNRnx7fQ==", "signingMethod": "", "encodingMethod": "OCMF", "publicKey": ""}
    ended = tx_event(
        "Ended",
        0,
        "EVDeparted",
        evse={"id": 1},
        meterValue=meter(4321, context="Transaction.End", signedMeterValue=signed),
    )
    answered(call("TransactionEvent", ended))
    row = MeterValue.objects.get()
    assert (row.signed, row.format, session().meter_stop) == (signed, "SignedData", 4321)
