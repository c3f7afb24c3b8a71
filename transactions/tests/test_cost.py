"""Block I (tariff and cost) on the session path: the tariff a session gets, its cost, the totalCost of 2.0.1
replies and 1.6's cost at stop, through the worker's handling of Calls (``calls_handle``, real PostgreSQL),
the running total sent with CostUpdated, the API and the CSV export."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apikeys.testing import ApiClientFactory, api_client  # noqa: F401 (fixture)
from backoffice.celery import app
from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command, IdTag
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import calls_handle
from protocols.validation import validate
from tariffs.models import ChargerGroup, ChargerGroupMember, Tariff
from tariffs.services import session_costs_send
from transactions.events import EventReport, MeterSample, SampledValue, transaction_events_record
from transactions.models import Transaction, TransactionEvent
from transactions.tests import test_events as any_order

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
_ids = itertools.count()


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def frame(cid: str, action: str, payload: dict[str, Any], version: str) -> Frame:
    return Frame(
        charge_point_id=cid,
        kind=Kind.CALL,
        message_id=f"c{next(_ids)}",
        action=action,
        payload=payload,
        ocpp_version=version,
        dialect="ocppj",
        received_at=utcnow(),
    )


def answered(cid: str, action: str, payload: dict[str, Any], version: str = "2.0.1") -> dict[str, Any]:
    (reply,) = calls_handle([frame(cid, action, payload, version)])
    assert reply.kind == Kind.RESULT, reply
    validate(Kind.RESULT, action, reply.payload, version)
    return reply.payload


def station(version: str = "2.0.1") -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id=f"CS-{next(_ids)}", registration_status="Accepted", ocpp_version=version, online=True
    )


def tariff(**fields: Any) -> Tariff:
    values: dict[str, Any] = {
        "name": "Standard",
        "currency": "EUR",
        "energy_price": Decimal("0.30"),
        "time_price": Decimal("1.20"),
        "session_fee": Decimal("0.50"),
    }
    return Tariff.objects.create(**{**values, **fields})


def energy(wh: float, minutes: float, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    return [{"timestamp": at(minutes), "sampledValue": [{"value": wh, "context": context}]}]


def tx_event(
    event_type: str, seq_no: int, minutes: float, state: str = "", tx: str = "TX-1", **extra: Any
) -> dict[str, Any]:
    info: dict[str, Any] = {"transactionId": tx, **extra.pop("info", {})}
    if state:
        info["chargingState"] = state
    return {
        "eventType": event_type,
        "timestamp": at(minutes),
        "triggerReason": extra.pop("trigger", "ChargingStateChanged"),
        "seqNo": seq_no,
        "transactionInfo": info,
        **extra,
    }


def session_of(cp: ChargePoint, tx: str = "TX-1") -> Transaction:
    return Transaction.objects.get(charge_point=cp, charger_transaction_id=tx)


# --- 2.0.1 ----------------------------------------------------------------------------------------


def test_TC_I_02_CSMS_the_final_total_cost_is_in_the_ended_reply() -> None:
    """I03: 6 kWh, 30 minutes Charging, fee 0.50: 0.50 + 6 x 0.30 + 0.5 h x 1.20 = 2.90 EUR."""
    cp = station()
    tariff()
    cid = cp.charge_point_id
    started = answered(
        cid,
        "TransactionEvent",
        tx_event("Started", 0, 0, "EVConnected", evse={"id": 1, "connectorId": 1}, meterValue=energy(1000, 0)),
    )
    assert "totalCost" in started  # the running total, as I02 allows: the fee so far
    assert started["totalCost"] == 0.5
    answered(cid, "TransactionEvent", tx_event("Updated", 1, 5, "Charging"))
    updated = answered(
        cid, "TransactionEvent", tx_event("Updated", 2, 20, trigger="MeterValuePeriodic", meterValue=energy(4000, 20))
    )
    # 3 kWh and 15 minutes charging so far: 0.50 + 0.90 + 0.30.
    assert updated == {"totalCost": 1.7}
    answered(cid, "TransactionEvent", tx_event("Updated", 3, 35, "SuspendedEV"))
    ended_payload = tx_event(
        "Ended", 4, 40, "Idle", info={"stoppedReason": "EVDisconnected"}, meterValue=energy(7000, 40, "Transaction.End")
    )
    ended = answered(cid, "TransactionEvent", ended_payload)
    assert ended == {"totalCost": 2.9}
    session = session_of(cp)
    assert (session.total_cost, session.currency, session.charging_seconds) == (Decimal("2.90"), "EUR", 1800)
    assert session.charging_since is None
    assert TransactionEvent.objects.get(transaction=session, seq_no=4).reply == {"totalCost": 2.9}
    # The same Ended again (a new message id) gets the same reply and changes nothing.
    assert answered(cid, "TransactionEvent", ended_payload) == {"totalCost": 2.9}
    assert session_of(cp).total_cost == Decimal("2.90")


def test_a_session_without_a_tariff_has_no_cost_and_its_replies_no_total() -> None:
    cp = station()
    cid = cp.charge_point_id
    assert answered(cid, "TransactionEvent", tx_event("Started", 0, 0, "Charging", meterValue=energy(0, 0))) == {}
    assert answered(cid, "TransactionEvent", tx_event("Ended", 1, 30, meterValue=energy(5000, 30))) == {}
    session = session_of(cp)
    assert (session.tariff, session.total_cost, session.currency) == (None, None, "")


def test_the_stations_time_spent_charging_counts_when_it_is_more() -> None:
    cp = station()
    tariff(energy_price=0, session_fee=0, time_price=Decimal("6"))
    cid = cp.charge_point_id
    answered(cid, "TransactionEvent", tx_event("Started", 0, 0, "Charging"))
    # The station says 20 minutes; our count from the states is 10.
    ended = answered(cid, "TransactionEvent", tx_event("Ended", 1, 10, info={"timeSpentCharging": 1200}))
    assert ended == {"totalCost": 2.0}


def test_the_tariff_at_the_start_prices_the_session_to_its_end() -> None:
    cp = station()
    old = tariff(valid_to=T0 + timedelta(minutes=10))
    tariff(name="Dearer", energy_price=Decimal("1"), valid_from=T0 + timedelta(minutes=10))
    cid = cp.charge_point_id
    answered(cid, "TransactionEvent", tx_event("Started", 0, 0, meterValue=energy(0, 0)))
    ended = answered(cid, "TransactionEvent", tx_event("Ended", 1, 30, meterValue=energy(10000, 30)))
    assert session_of(cp).tariff == old
    assert ended == {"totalCost": 3.5}  # 0.50 + 10 x 0.30, at the old price


def test_charger_tariff_before_group_tariff_before_default() -> None:
    default = tariff(name="Default")
    group = ChargerGroup.objects.create(name="Site A")
    grouped = tariff(name="Site A", group=group)
    own, in_group, other = station(), station(), station()
    ChargerGroupMember.objects.create(group=group, charge_point=own)
    ChargerGroupMember.objects.create(group=group, charge_point=in_group)
    mine = tariff(name="Own", charge_point=own)
    for cp in (own, in_group, other):
        answered(cp.charge_point_id, "TransactionEvent", tx_event("Started", 0, 0))
    assert [session_of(cp).tariff for cp in (own, in_group, other)] == [mine, grouped, default]


def test_cost_rounds_half_up_to_the_currencys_minor_unit() -> None:
    cp = station()
    tariff(currency="JPY", energy_price=Decimal("45"), time_price=0, session_fee=0)
    cid = cp.charge_point_id
    answered(cid, "TransactionEvent", tx_event("Started", 0, 0, meterValue=energy(0, 0)))
    # 1.7 kWh x 45 = 76.5 yen: 77.
    assert answered(cid, "TransactionEvent", tx_event("Ended", 1, 5, meterValue=energy(1700, 5))) == {"totalCost": 77}


def _wave(chargers: list[ChargePoint], seq_no: int, event_type: str, minutes: float) -> list[EventReport]:
    sample = MeterSample(timestamp=T0 + timedelta(minutes=minutes), values=(SampledValue(value=100 * (seq_no + 1)),))
    return [
        EventReport(
            charge_point=cp,
            transaction_id="TX-1",
            seq_no=seq_no,
            event_type=event_type,
            trigger_reason="MeterValuePeriodic",
            timestamp=T0 + timedelta(minutes=minutes),
            charging_state="Charging" if seq_no == 0 else "",
            samples=(sample,),
        )
        for cp in chargers
    ]


def test_a_priced_wave_costs_the_statements_of_an_unpriced_one() -> None:
    """The tariff is looked up in the INSERT of the sessions, its prices read by the same statement."""

    def statements(count: int) -> list[int]:
        chargers = [station() for _ in range(count)]
        counts = []
        for seq_no, event_type in enumerate(("Started", "Updated", "Ended")):
            with CaptureQueriesContext(connection) as queries:
                replies = transaction_events_record(
                    reports=_wave(chargers, seq_no, event_type, seq_no * 10), now=timezone.now()
                )
            counts.append(len(queries))
            assert all("totalCost" in reply for reply in replies) == Tariff.objects.exists()
        return counts

    unpriced = statements(3)
    tariff()
    assert statements(3) == statements(30) == unpriced == [2, 1, 2]


# --- 1.6 ------------------------------------------------------------------------------------------


def test_a_16_session_gets_its_cost_at_stop() -> None:
    """1.6 has no cost message: the cost is computed at StopTransaction and shown (API, CSV, dashboard)."""
    cp = station("1.6")
    IdTag.objects.create(id_tag="TAG-16")
    tariff()
    cid = cp.charge_point_id
    start = answered(
        cid,
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG-16", "meterStart": 2000, "timestamp": at(0)},
        "1.6",
    )
    stop = {"transactionId": start["transactionId"], "meterStop": 14000, "timestamp": at(45), "reason": "Local"}
    answered(cid, "StopTransaction", stop, "1.6")
    session = Transaction.objects.get(pk=start["transactionId"])
    # 0.50 + 12 kWh x 0.30 + 0.75 h x 1.20 = 5.00
    assert (session.total_cost, session.currency, session.tariff is not None) == (Decimal("5.00"), "EUR", True)
    # A second stop changes nothing.
    answered(cid, "StopTransaction", {**stop, "meterStop": 20000}, "1.6")
    assert Transaction.objects.get(pk=session.pk).total_cost == Decimal("5.00")


# --- CostUpdated ----------------------------------------------------------------------------------


def _charging_session(cp: ChargePoint, wh: float = 4000) -> Transaction:
    cid = cp.charge_point_id
    now = timezone.now()
    started = (now - timedelta(minutes=30)).isoformat()
    answered(
        cid,
        "TransactionEvent",
        {
            **tx_event("Started", 0, 0, "Charging"),
            "timestamp": started,
            "meterValue": [{"timestamp": started, "sampledValue": [{"value": 0.0}]}],
        },
    )
    answered(
        cid,
        "TransactionEvent",
        {
            **tx_event("Updated", 1, 0, trigger="MeterValuePeriodic"),
            "timestamp": now.isoformat(),
            "meterValue": [{"timestamp": now.isoformat(), "sampledValue": [{"value": wh}]}],
        },
    )
    return session_of(cp)


def test_TC_I_01_CSMS_the_running_total_is_queued_with_cost_updated() -> None:
    cp = station()
    tariff(time_price=0)
    session = _charging_session(cp)
    (command,) = session_costs_send(now=timezone.now())
    assert (command.charge_point_id, command.action) == (cp.pk, "CostUpdated")
    # 0.50 + 4 kWh x 0.30.
    assert command.request == {"totalCost": 1.7, "transactionId": "TX-1"}
    assert Transaction.objects.get(pk=session.pk).cost_sent == Decimal("1.70")
    # Unchanged cost: nothing more.
    assert session_costs_send(now=timezone.now()) == []
    moment = timezone.now().isoformat()
    answered(
        cp.charge_point_id,
        "TransactionEvent",
        {
            **tx_event("Updated", 2, 0, trigger="MeterValuePeriodic"),
            "timestamp": moment,
            "meterValue": [{"timestamp": moment, "sampledValue": [{"value": 5000.0}]}],
        },
    )
    # Changed, but the last one is still queued: it goes first.
    assert session_costs_send(now=timezone.now()) == []
    Command.objects.filter(pk=command.pk).update(status=Command.Status.ACCEPTED)
    (second,) = session_costs_send(now=timezone.now())
    assert second.request["totalCost"] == 2.0


def test_no_cost_updated_for_an_offline_station_a_16_charger_or_an_ended_session() -> None:
    tariff()
    offline = station()
    _charging_session(offline)
    # Every message marks a station online; it went away since.
    ChargePoint.objects.filter(pk=offline.pk).update(online=False)
    ended = station()
    _charging_session(ended)
    answered(
        ended.charge_point_id, "TransactionEvent", {**tx_event("Ended", 2, 0), "timestamp": timezone.now().isoformat()}
    )
    v16 = station("1.6")
    IdTag.objects.create(id_tag="TAG-16")
    answered(
        v16.charge_point_id,
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG-16", "meterStart": 0, "timestamp": timezone.now().isoformat()},
        "1.6",
    )
    assert session_costs_send(now=timezone.now()) == []


def test_a_cost_updated_for_no_active_session_is_refused() -> None:
    cp = station()
    with pytest.raises(CommandError, match="not an active session"):
        command_enqueue(charge_point=cp, action="CostUpdated", payload={"totalCost": 1.5, "transactionId": "NOPE"})
    _charging_session(cp)
    with pytest.raises(CommandError, match="not an amount"):
        command_enqueue(charge_point=cp, action="CostUpdated", payload={"totalCost": -1, "transactionId": "TX-1"})
    queued = command_enqueue(charge_point=cp, action="CostUpdated", payload={"totalCost": 1.5, "transactionId": "TX-1"})
    assert queued.status == Command.Status.QUEUED


def test_the_cost_updates_run_from_beat() -> None:
    entry = app.conf.beat_schedule["tariffs-cost-updates"]
    assert entry["task"] == "tariffs.tasks.session_costs_update" and entry["schedule"] == 60.0


# --- API, CSV -------------------------------------------------------------------------------------


def test_the_api_and_the_csv_show_the_cost(api_client: ApiClientFactory) -> None:  # noqa: F811 (the fixture)
    tariff(time_price=0)
    running = station()
    _charging_session(running)
    done = station()
    cid = done.charge_point_id
    answered(cid, "TransactionEvent", tx_event("Started", 0, 0, meterValue=energy(0, 0)))
    answered(cid, "TransactionEvent", tx_event("Ended", 1, 10, meterValue=energy(10000, 10)))
    client = api_client("viewer")
    rows = {row["charge_point_id"]: row for row in client.get("/api/v1/transactions/").json()["results"]}
    assert (rows[cid]["cost"], rows[cid]["cost_final"], rows[cid]["currency"]) == ("3.50", True, "EUR")
    assert (rows[running.charge_point_id]["cost"], rows[running.charge_point_id]["cost_final"]) == ("1.70", False)
    export = client.get("/api/v1/transactions/export/", HTTP_ACCEPT="text/csv")
    lines = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))  # type: ignore[attr-defined]
    by_charger = {line["charge_point_id"]: line for line in lines}
    assert (by_charger[cid]["cost"], by_charger[cid]["currency"]) == ("3.50", "EUR")
    assert by_charger[running.charge_point_id]["cost"] == "1.70"


def test_the_session_page_and_the_sessions_list_show_the_cost(client: Any) -> None:
    client.force_login(User.objects.create_superuser(username="cost-viewer"))
    tariff(time_price=0)
    cp = station()
    cid = cp.charge_point_id
    answered(cid, "TransactionEvent", tx_event("Started", 0, 0, meterValue=energy(0, 0)))
    answered(cid, "TransactionEvent", tx_event("Ended", 1, 10, meterValue=energy(10000, 10)))
    session = session_of(cp)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert re.search(r"<dt>Cost</dt><dd data-cost>3\.50 EUR <span class=\"muted\">\(Standard\)</span>", page)
    listed = client.get("/sessions/").content.decode()
    assert re.search(rf'data-transaction="{session.pk}".*?data-cost>3\.50 EUR<', listed, re.S)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=any_order.sessions(), data=st.data())
def test_events_in_any_order_end_with_the_same_time_charging_and_cost(
    made: list[dict[str, Any]], data: st.DataObject
) -> None:
    """The running count follows the events' arrival; from the Ended on, all the events decide it."""
    Tariff.objects.get_or_create(
        name="Any order", currency="EUR", energy_price=Decimal("0.3"), time_price=Decimal("2"), session_fee=1
    )
    IdTag.objects.get_or_create(id_tag="CARD", type="ISO14443")
    order = data.draw(st.permutations(made))
    now = timezone.now()
    built = []
    for events in (made, order):
        cp = any_order.station()
        for item in events:
            any_order.record(any_order._report(cp, item), now=now)
        session = any_order.session_of(cp)
        built.append((session.charging_seconds, session.charging_since, session.total_cost))
    assert built[0] == built[1]
    # In seqNo order, what a station would say: the minutes its states said Charging, to the next state told.
    told = [(item["minutes"], item["charging_state"]) for item in made if item["charging_state"]]
    told.append((made[-1]["minutes"], "end"))
    expected = sum(
        (after - start) * 60 for (start, state), (after, _) in itertools.pairwise(told) if state == "Charging"
    )
    assert built[0][0] == expected
