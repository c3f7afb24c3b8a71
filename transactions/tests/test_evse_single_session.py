"""An EVSE has at most one transaction (OCPP 2.0.1): a start on an EVSE that still has an older open session
of the same station ends that one, which lost its Ended (as 1.6's StartTransaction closes a lost stop)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chargers.models import ChargePoint, IdTag
from protocols.validation import Kind, validate
from transactions.events import EventReport, MeterSample, SampledValue, transaction_events_record
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
_ids = itertools.count()


def station() -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id=f"ES-{next(_ids)}", registration_status="Accepted", ocpp_version="2.0.1"
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(minutes: float, wh: float, context: str = "Sample.Periodic") -> MeterSample:
    return MeterSample(timestamp=at(minutes), values=(SampledValue(value=wh, context=context),))


def event(cp: ChargePoint, tx: str, seq_no: int, event_type: str, minutes: float, **fields: Any) -> EventReport:
    fields.setdefault("trigger_reason", "ChargingStateChanged")
    return EventReport(
        charge_point=cp, transaction_id=tx, seq_no=seq_no, event_type=event_type, timestamp=at(minutes), **fields
    )


def record(*reports: EventReport) -> list[dict[str, Any]]:
    replies = transaction_events_record(reports=list(reports), now=timezone.now())
    for reply in replies:
        validate(Kind.RESULT, "TransactionEvent", reply, "2.0.1")
    return replies


def session(cp: ChargePoint, tx: str) -> Transaction:
    return Transaction.objects.get(charge_point=cp, charger_transaction_id=tx)


def test_a_started_on_an_evse_with_an_open_session_ends_the_older_one_as_lost() -> None:
    cp = station()
    record(event(cp, "OLD", 0, "Started", 0, evse_id=1, connector_id=1, samples=(reading(0, 1000),)))
    record(event(cp, "OLD", 1, "Updated", 10, samples=(reading(10, 3000),)))
    record(event(cp, "NEW", 0, "Started", 60, evse_id=1, connector_id=1, samples=(reading(60, 9000),)))
    old, new = session(cp, "OLD"), session(cp, "NEW")
    # Ended at the new start, reason Other (1.6's lost stop), no energy invented: no meter stop, no Ended reading.
    assert (old.stopped_at, old.stop_reason, old.meter_start, old.meter_stop) == (at(60), "Other", 1000, None)
    assert old.energy_wh is None
    assert (new.stopped_at, new.meter_start) == (None, 9000)


def test_the_first_event_of_an_unknown_transaction_ends_the_older_open_session_too() -> None:
    cp = station()
    record(event(cp, "OLD", 0, "Started", 0, evse_id=2))
    # A station whose Started we never got: its first event is an Updated, on the same EVSE.
    record(event(cp, "NEW", 3, "Updated", 30, evse_id=2, charging_state="Charging"))
    assert (session(cp, "OLD").stopped_at, session(cp, "OLD").stop_reason) == (at(30), "Other")
    assert session(cp, "NEW").stopped_at is None


def test_only_the_same_evse_of_the_same_station_and_only_older_sessions() -> None:
    cp, other = station(), station()
    record(event(cp, "EVSE1", 0, "Started", 0, evse_id=1))
    record(event(other, "OTHER-STATION", 0, "Started", 0, evse_id=2))
    record(event(cp, "LATER", 0, "Started", 90, evse_id=2))
    # An older session's first event arriving late (an offline queue) does not end a newer one.
    record(event(cp, "EARLIER", 0, "Started", 50, evse_id=2))
    open_ = set(
        Transaction.objects.filter(stopped_at__isnull=True).values_list("charge_point_id", "charger_transaction_id")
    )
    assert open_ == {(cp.pk, "EVSE1"), (other.pk, "OTHER-STATION"), (cp.pk, "LATER"), (cp.pk, "EARLIER")}


def test_an_updated_of_a_running_session_ends_nothing() -> None:
    cp = station()
    record(event(cp, "A", 0, "Started", 0, evse_id=1))
    record(event(cp, "B", 0, "Started", 10, evse_id=1))
    # A late Updated of the lost session: it neither reopens it nor ends the running one.
    record(event(cp, "A", 1, "Updated", 5, evse_id=1, samples=(reading(5, 200),)))
    assert session(cp, "B").stopped_at is None
    assert (session(cp, "A").stopped_at, session(cp, "A").stop_reason) == (at(10), "Other")


def test_the_real_ended_of_a_session_closed_by_a_later_start_takes_its_place() -> None:
    cp = station()
    record(event(cp, "A", 0, "Started", 0, evse_id=1, samples=(reading(0, 100),)))
    record(event(cp, "B", 0, "Started", 30, evse_id=1))
    record(event(cp, "A", 1, "Ended", 20, stopped_reason="EVDisconnected", samples=(reading(20, 700),)))
    a = session(cp, "A")
    assert (a.stopped_at, a.stop_reason, a.meter_stop, a.energy_wh) == (at(20), "EVDisconnected", 700, 600)
    # Once really Ended, it never changes again.
    record(event(cp, "A", 2, "Ended", 25, stopped_reason="Local"))
    assert (session(cp, "A").stopped_at, session(cp, "A").stop_reason) == (at(20), "EVDisconnected")


def test_a_replayed_started_ends_nothing_a_second_time() -> None:
    cp = station()
    record(event(cp, "A", 0, "Started", 0, evse_id=1))
    record(event(cp, "B", 0, "Started", 10, evse_id=1))
    record(event(cp, "A", 1, "Ended", 5, stopped_reason="Local"))
    record(event(cp, "B", 0, "Started", 10, evse_id=1))  # the same event again (a new message id)
    assert (session(cp, "A").stopped_at, session(cp, "A").stop_reason) == (at(5), "Local")
    assert session(cp, "B").stopped_at is None


def test_a_wave_of_starts_ending_lost_sessions_costs_the_same_statements_as_without() -> None:
    IdTag.objects.create(id_tag="CARD", type="ISO14443")

    def statements(count: int, lost: bool) -> int:
        chargers = [station() for _ in range(count)]
        if lost:
            record(*(event(cp, "LOST", 0, "Started", 0, evse_id=1) for cp in chargers))
        wave = [
            event(cp, "TX", 0, "Started", 10, evse_id=1, id_token="card", id_token_type="ISO14443") for cp in chargers
        ]
        with CaptureQueriesContext(connection) as queries:
            replies = record(*wave)
        assert replies == [{"idTokenInfo": {"status": "Accepted"}}] * count
        closed = Transaction.objects.filter(
            charge_point__in=chargers, charger_transaction_id="LOST", stop_reason="Other"
        )
        assert closed.count() == (count if lost else 0)
        return len(queries)

    # The sessions with their events, readings, tokens and lost sessions; then what changed with the replies.
    assert statements(3, lost=True) == statements(40, lost=True) == statements(5, lost=False) == 2
