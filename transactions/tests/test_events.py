"""OCPP 2.0.1 session services (transactions.events) against the real database."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargers.models import ChargePoint, Command, IdTag, Reservation
from protocols.validation import Kind, validate
from transactions.events import (
    EventReport,
    EvseMeterReport,
    MeterSample,
    RemoteStartById,
    SampledValue,
    evse_meter_values_record,
    transaction_events_record,
)
from transactions.models import MeterValue, Transaction, TransactionEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REMOTE_START = RemoteStartById(action="RequestStartTransaction", id_field="remoteStartId")
_ids = itertools.count()


def station(cid: str | None = None) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id=cid or f"CS-{next(_ids)}", registration_status="Accepted", ocpp_version="2.0.1"
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(minutes: float, value: float, context: str = "Sample.Periodic", **extra: Any) -> MeterSample:
    return MeterSample(timestamp=at(minutes), values=(SampledValue(value=value, context=context, **extra),))


def event(cp: ChargePoint, seq_no: int, event_type: str, minutes: float, **fields: Any) -> EventReport:
    fields.setdefault("trigger_reason", "ChargingStateChanged")
    fields.setdefault("transaction_id", "TX-1")
    return EventReport(charge_point=cp, seq_no=seq_no, event_type=event_type, timestamp=at(minutes), **fields)


def record(*reports: EventReport, now: datetime | None = None) -> list[dict[str, Any]]:
    replies = transaction_events_record(reports=list(reports), now=now or timezone.now(), remote_start=REMOTE_START)
    for reply in replies:
        validate(Kind.RESULT, "TransactionEvent", reply, "2.0.1")
    return replies


def session_of(cp: ChargePoint, transaction_id: str = "TX-1") -> Transaction:
    return Transaction.objects.get(charge_point=cp, charger_transaction_id=transaction_id)


def test_TC_E_02_CSMS_a_whole_session_started_updated_ended() -> None:
    cp = station()
    IdTag.objects.create(id_tag="100000C01", type="Central")
    started = event(
        cp,
        0,
        "Started",
        0,
        trigger_reason="Authorized",
        evse_id=1,
        connector_id=1,
        charging_state="Charging",
        id_token="100000C01",
        id_token_type="Central",
        samples=(reading(0, 1000, "Transaction.Begin"),),
    )
    updated = event(
        cp,
        1,
        "Updated",
        30,
        trigger_reason="MeterValuePeriodic",
        samples=(reading(30, 1.5, unit="kWh"),),
        time_spent_charging=1800,
    )
    ended = event(
        cp,
        2,
        "Ended",
        60,
        trigger_reason="EVDeparted",
        stopped_reason="EVDisconnected",
        charging_state="Idle",
        samples=(reading(60, 3000, "Transaction.End"),),
    )
    replies = [record(item)[0] for item in (started, updated, ended)]
    # idTokenInfo whenever the event carries an idToken, nothing else otherwise.
    assert replies == [{"idTokenInfo": {"status": "Accepted"}}, {}, {}]
    session = session_of(cp)
    assert (session.started_at, session.stopped_at) == (at(0), at(60))
    assert (session.evse_id, session.connector_id) == (1, 1)
    assert (session.id_tag, session.id_token_type, session.id_tag_status) == ("100000C01", "Central", "Accepted")
    assert (session.charging_state, session.time_spent_charging) == ("Idle", 1800)
    assert (session.meter_start, session.meter_stop, session.energy_wh) == (1000, 3000, 2000)
    assert session.stop_reason == "EVDisconnected" and session.transaction_id == "TX-1"
    assert list(session.events.values_list("seq_no", "event_type")) == [(0, "Started"), (1, "Updated"), (2, "Ended")]
    assert list(MeterValue.objects.filter(transaction=session).values_list("connector_id", "value", "unit")) == [
        (1, "1000", "Wh"),
        (1, "1.5", "kWh"),
        (1, "3000", "Wh"),
    ]


def test_a_replayed_seq_no_has_no_second_effect_and_gets_the_stored_reply() -> None:
    cp = station()
    card = IdTag.objects.create(id_tag="CARD", type="ISO14443")
    started = event(
        cp, 0, "Started", 0, evse_id=1, id_token="CARD", id_token_type="ISO14443", samples=(reading(0, 100),)
    )
    first = record(started)
    card.status = "Blocked"
    card.save()
    # The same event under a new message id (the worker cannot tell): the answer of the first time.
    again = record(dataclasses.replace(started, charging_state="Charging", samples=(reading(0, 100), reading(1, 200))))
    assert again == first == [{"idTokenInfo": {"status": "Accepted"}}]
    session = session_of(cp)
    assert session.events.count() == 1 and session.charging_state == ""
    assert MeterValue.objects.filter(charge_point=cp).count() == 1


def test_an_ended_session_never_reopens() -> None:
    cp = station()
    record(event(cp, 0, "Started", 0, evse_id=1))
    record(event(cp, 3, "Ended", 60, stopped_reason="Remote", samples=(reading(60, 900),)))
    # Late arrivals after the Ended: an Updated, another Ended, a Started with another seqNo.
    record(event(cp, 4, "Updated", 70, charging_state="Charging", samples=(reading(70, 950),)))
    record(event(cp, 5, "Ended", 80, stopped_reason="Local"))
    record(event(cp, 6, "Started", 90))
    session = session_of(cp)
    assert (session.stopped_at, session.stop_reason) == (at(60), "Remote")
    assert session.is_active is False
    assert session.events.count() == 5


def test_an_unknown_transaction_id_builds_the_session_from_what_it_carries() -> None:
    cp = station()
    (reply,) = record(
        event(
            cp,
            7,
            "Ended",
            45,
            transaction_id="NEVER-STARTED",
            evse_id=2,
            connector_id=1,
            stopped_reason="Local",
            samples=(reading(45, 5000, "Transaction.End"),),
        )
    )
    assert reply == {}
    session = session_of(cp, "NEVER-STARTED")
    assert (session.started_at, session.stopped_at, session.stop_reason) == (at(45), at(45), "Local")
    assert (session.evse_id, session.connector_id, session.meter_stop) == (2, 1, 5000)
    assert session.id_tag == "" and session.id_tag_status == ""


def test_energy_in_kwh_and_with_a_multiplier_is_counted_in_wh() -> None:
    cp = station()
    record(event(cp, 0, "Started", 0, evse_id=1, samples=(reading(0, 12.5, unit="kWh"),)))
    record(event(cp, 1, "Ended", 60, samples=(reading(60, 20, unit="Wh", multiplier=3),)))
    session = session_of(cp)
    assert (session.meter_start, session.meter_stop) == (12500, 20000)
    assert list(MeterValue.objects.filter(transaction=session).values_list("value", "numeric_value", "unit")) == [
        ("12.5", 12.5, "kWh"),
        ("20000", 20000.0, "Wh"),
    ]


def test_per_phase_and_other_measurands_do_not_make_the_meter_start() -> None:
    cp = station()
    values = (
        SampledValue(value=7, measurand="Energy.Active.Import.Register", phase="L1"),
        SampledValue(value=11000, measurand="Power.Active.Import", unit="W"),
        SampledValue(value=40, measurand="SoC", unit="Percent", location="EV"),
    )
    record(event(cp, 0, "Started", 0, evse_id=1, samples=(MeterSample(at(0), values),)))
    assert session_of(cp).meter_start is None
    record(event(cp, 1, "Updated", 5, samples=(reading(5, 300),)))
    assert session_of(cp).meter_start == 300
    units = dict(MeterValue.objects.filter(charge_point=cp).values_list("measurand", "unit"))
    assert units["SoC"] == "Percent" and units["Power.Active.Import"] == "W"


def test_TC_J_11_CSMS_signed_meter_values_are_kept_as_sent() -> None:
    cp = station()
    signed = {"signedMeterData": "b2NtZg==", "signingMethod": "ECDSA", "encodingMethod": "OCMF", "publicKey": "a2V5"}
    record(event(cp, 0, "Ended", 0, evse_id=1, samples=(reading(0, 42, "Transaction.End", signed=signed),)))
    row = MeterValue.objects.get(charge_point=cp)
    assert (row.signed, row.format, row.value) == (signed, "SignedData", "42")


def test_TC_E_03_CSMS_the_token_of_an_authorization_after_plug_in_is_the_sessions() -> None:
    cp = station()
    IdTag.objects.create(id_tag="CARD", type="ISO14443")
    assert record(
        event(
            cp,
            0,
            "Started",
            0,
            trigger_reason="CablePluggedIn",
            evse_id=1,
            connector_id=1,
            charging_state="EVConnected",
        )
    ) == [{}]
    (reply,) = record(
        event(cp, 1, "Updated", 2, trigger_reason="Authorized", id_token="CARD", id_token_type="ISO14443")
    )
    assert reply == {"idTokenInfo": {"status": "Accepted"}}
    session = session_of(cp)
    assert (session.id_tag, session.id_token_type, session.id_tag_status) == ("CARD", "ISO14443", "Accepted")


def test_TC_E_15_CSMS_the_token_that_stops_a_session_is_its_stop_token() -> None:
    cp = station()
    IdTag.objects.create(id_tag="CARD", type="ISO14443")
    IdTag.objects.create(id_tag="OTHER", type="ISO14443")
    record(event(cp, 0, "Started", 0, evse_id=1, id_token="CARD", id_token_type="ISO14443"))
    (reply,) = record(
        event(cp, 1, "Ended", 50, trigger_reason="StopAuthorized", id_token="OTHER", id_token_type="ISO14443")
    )
    assert reply == {"idTokenInfo": {"status": "Accepted"}}
    session = session_of(cp)
    assert (session.id_tag, session.stop_id_tag, session.stop_reason) == ("CARD", "OTHER", "Local")


def test_TC_E_16_CSMS_a_token_of_a_type_we_do_not_take_is_answered_invalid() -> None:
    cp = station()
    (reply,) = record(
        event(cp, 0, "Started", 0, trigger_reason="Authorized", evse_id=1, id_token="100000C02", id_token_type="Cash")
    )
    assert reply == {"idTokenInfo": {"status": "Invalid"}}
    session = session_of(cp)
    assert (session.id_tag, session.id_token_type, session.id_tag_status) == ("100000C02", "Cash", "Invalid")


def test_the_charging_state_is_the_one_of_the_highest_seq_no() -> None:
    cp = station()
    record(event(cp, 0, "Started", 0, evse_id=1, charging_state="EVConnected"))
    record(event(cp, 2, "Updated", 20, charging_state="SuspendedEV"))
    record(event(cp, 1, "Updated", 10, charging_state="Charging", offline=True))  # late: an older state
    assert session_of(cp).charging_state == "SuspendedEV"
    assert TransactionEvent.objects.get(transaction__charge_point=cp, seq_no=1).offline is True


def test_started_at_is_the_earliest_timestamp_until_started_comes() -> None:
    cp = station()
    record(event(cp, 2, "Updated", 20, evse_id=1))
    record(event(cp, 1, "Updated", 10))
    assert session_of(cp).started_at == at(10)
    record(event(cp, 0, "Started", 5))
    record(event(cp, 3, "Updated", 1))  # a station clock set back: Started's time stays
    assert session_of(cp).started_at == at(5)


def test_TC_F_01_CSMS_a_remote_start_is_linked_by_its_remote_start_id() -> None:
    cp, other = station(), station()
    ours = Command.objects.create(
        charge_point=cp,
        action="RequestStartTransaction",
        message_id="rs-1",
        request={"idToken": {"idToken": "APP", "type": "Central"}, "remoteStartId": 77},
        status=Command.Status.ACCEPTED,
    )
    another_id = Command.objects.create(
        charge_point=cp,
        action="RequestStartTransaction",
        message_id="rs-2",
        request={"remoteStartId": 78},
        status=Command.Status.ACCEPTED,
    )
    other_station = Command.objects.create(
        charge_point=other,
        action="RequestStartTransaction",
        message_id="rs-3",
        request={"remoteStartId": 77},
        status=Command.Status.ACCEPTED,
    )
    rejected = Command.objects.create(
        charge_point=cp,
        action="RequestStartTransaction",
        message_id="rs-4",
        request={"remoteStartId": 77},
        status=Command.Status.REJECTED,
    )
    # Cable plugged in first: the session exists before the remote start reaches it.
    record(event(cp, 0, "Started", 0, trigger_reason="CablePluggedIn", evse_id=1))
    record(event(cp, 1, "Updated", 1, trigger_reason="RemoteStart", remote_start_id=77))
    session = session_of(cp)
    assert session.remote_start_id == 77
    for command in (ours, another_id, other_station, rejected):
        command.refresh_from_db()
    linked = {command.message_id: command.transaction_id for command in (ours, another_id, other_station, rejected)}
    assert linked == {"rs-1": session.pk, "rs-2": None, "rs-3": None, "rs-4": None}


def test_a_session_on_a_reservation_uses_it() -> None:
    cp = station()
    Reservation.objects.create(
        charge_point=cp,
        reservation_id=5,
        connector_id=1,
        id_tag="CARD",
        expiry_date=at(60),
        status=Reservation.Status.ACCEPTED,
    )
    record(event(cp, 0, "Started", 0, evse_id=1, reservation_id=5))
    assert Reservation.objects.get(charge_point=cp, reservation_id=5).status == Reservation.Status.USED


def test_TC_J_01_CSMS_meter_values_outside_sessions_are_kept_unlinked_and_inside_linked() -> None:
    cp = station()
    record(event(cp, 0, "Started", 10, evse_id=1))
    record(event(cp, 0, "Started", 10, evse_id=2, transaction_id="TX-2"))
    record(event(cp, 1, "Ended", 20, transaction_id="TX-2"))
    clock = (reading(15, 500, "Sample.Clock"),)
    evse_meter_values_record(
        reports=[
            EvseMeterReport(cp, 0, clock),  # the station's main meter
            EvseMeterReport(cp, 1, (reading(5, 400, "Sample.Clock"), *clock)),  # before the start: not the session's
            EvseMeterReport(cp, 2, clock),  # its session has ended
        ],
        now=timezone.now(),
    )
    rows = {(mv.connector_id, mv.timestamp): mv.transaction_id for mv in MeterValue.objects.filter(charge_point=cp)}
    assert rows == {(0, at(15)): None, (1, at(5)): None, (1, at(15)): session_of(cp).pk, (2, at(15)): None}
    # A replay stores nothing twice.
    evse_meter_values_record(reports=[EvseMeterReport(cp, 1, clock)], now=timezone.now())
    assert MeterValue.objects.filter(charge_point=cp).count() == 4


def test_a_wave_of_events_costs_the_same_statements_whatever_its_size() -> None:
    IdTag.objects.create(id_tag="CARD", type="ISO14443")

    def statements(count: int) -> list[int]:
        chargers = [station() for _ in range(count)]
        waves = [
            [
                event(
                    cp,
                    0,
                    "Started",
                    0,
                    evse_id=1,
                    id_token="CARD",
                    id_token_type="ISO14443",
                    samples=(reading(0, 10, "Transaction.Begin"),),
                )
                for cp in chargers
            ],
            [event(cp, 1, "Updated", 5, samples=(reading(5, 20), reading(6, 30))) for cp in chargers],
            [
                event(cp, 2, "Ended", 9, remote_start_id=3, samples=(reading(9, 40, "Transaction.End"),))
                for cp in chargers
            ],
        ]
        counts = []
        for wave in waves:
            with CaptureQueriesContext(connection) as queries:
                record(*wave)
            counts.append(len(queries))
        assert Transaction.objects.filter(charge_point__in=chargers, meter_start=10, meter_stop=40).count() == count
        return counts

    few, many = statements(3), statements(40)
    assert few == many
    # Started: the sessions with their events, readings and tokens, then what changed with the replies.
    # Updated with readings only: the first alone (no session changed). Ended: both and the remote starts' link.
    assert many == [2, 1, 3]


def test_meter_values_of_a_wave_cost_one_statement() -> None:
    chargers = [station() for _ in range(5)]
    for cp in chargers:
        record(event(cp, 0, "Started", 0, evse_id=1))
    reports = [EvseMeterReport(cp, evse, (reading(5, 100, "Sample.Clock"),)) for cp in chargers for evse in (0, 1)]
    with CaptureQueriesContext(connection) as queries:
        assert evse_meter_values_record(reports=reports, now=timezone.now()) == 10
    assert len(queries) == 1
    assert MeterValue.objects.filter(transaction__isnull=False, context="Sample.Clock").count() == 5


# --- out of order ------------------------------------------------------------------------------------

COMPARED = [
    field.attname
    for field in Transaction._meta.concrete_fields
    if field.attname not in ("id", "charge_point_id", "start_received_at", "stop_received_at")
]


@st.composite
def sessions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One session's events as (seq_no, type, minutes, fields), in the order the station made them."""
    updates = draw(st.integers(min_value=0, max_value=4))
    states = st.sampled_from(["", "EVConnected", "Charging", "SuspendedEV", "SuspendedEVSE", "Idle"])
    token = draw(st.sampled_from([None, "start", "late"]))  # at the Started, in an Updated, or none
    energy = itertools.count(draw(st.integers(min_value=0, max_value=10**6)), draw(st.integers(1, 5000)))
    made: list[dict[str, Any]] = [
        {
            "seq_no": 0,
            "event_type": "Started",
            "minutes": 0,
            "evse_id": 1,
            "connector_id": 1,
            "charging_state": draw(states),
            "remote_start_id": draw(st.sampled_from([None, 9])),
            "token": token == "start",
            "samples": draw(st.booleans()),
        }
    ]
    for seq_no in range(1, updates + 1):
        made.append(
            {
                "seq_no": seq_no,
                "event_type": "Updated",
                "minutes": seq_no * 5,
                "evse_id": 1 if draw(st.booleans()) else None,
                "charging_state": draw(states),
                "time_spent_charging": draw(st.one_of(st.none(), st.integers(0, 3600))),
                "token": token == "late" and seq_no == 1,
                "samples": draw(st.booleans()),
                "offline": draw(st.booleans()),
            }
        )
    made.append(
        {
            "seq_no": updates + 1,
            "event_type": "Ended",
            "minutes": updates * 5 + 5,
            "charging_state": draw(states),
            "stopped_reason": draw(st.sampled_from(["", "EVDisconnected", "Remote"])),
            "samples": draw(st.booleans()),
        }
    )
    for item in made:
        item["energy"] = next(energy)
    return made


def _report(cp: ChargePoint, item: dict[str, Any]) -> EventReport:
    fields = {key: value for key, value in item.items() if key not in ("minutes", "token", "samples", "energy")}
    if item.get("token"):
        fields.update(id_token="CARD", id_token_type="ISO14443", trigger_reason="Authorized")
    if item["samples"]:
        fields["samples"] = (reading(item["minutes"], item["energy"]),)
    return event(cp, minutes=item["minutes"], **fields)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=sessions(), data=st.data())
def test_events_in_any_order_build_the_same_session(made: list[dict[str, Any]], data: st.DataObject) -> None:
    IdTag.objects.get_or_create(id_tag="CARD", type="ISO14443")
    order = data.draw(st.permutations(made))
    now = timezone.now()
    built = []
    for events in (made, order):
        cp = station()
        for item in events:
            record(_report(cp, item), now=now)
        session = session_of(cp)
        readings = sorted(MeterValue.objects.filter(transaction=session).values_list("timestamp", "value", "context"))
        replies = list(session.events.order_by("seq_no").values_list("seq_no", "reply"))
        built.append(({name: getattr(session, name) for name in COMPARED}, readings, replies))
    assert built[0] == built[1]


def test_two_sessions_alike_in_all_but_their_transaction_id_are_two_sessions() -> None:
    # 1.6's natural key (connector, token, start time, meter start) is not a 2.0.1 session's identity:
    # the station's transactionId is; the 1.6 key applies to 1.6 rows only.
    cp = station()
    alike = {"evse_id": 1, "connector_id": 1, "id_token": "CARD", "id_token_type": "ISO14443"}
    samples = (reading(0, 1000, "Transaction.Begin"),)
    record(event(cp, 0, "Started", 0, transaction_id="TX-A", samples=samples, **alike))
    record(event(cp, 0, "Started", 0, transaction_id="TX-B", samples=samples, **alike))
    assert sorted(Transaction.objects.filter(charge_point=cp).values_list("charger_transaction_id", flat=True)) == [
        "TX-A",
        "TX-B",
    ]
