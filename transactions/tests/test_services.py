"""Session services against the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chargers.models import ChargePoint, ChargerEvent
from transactions.models import MeterValue, Transaction
from transactions.services import MeterSample, SampledValue, meter_values_record, transaction_start, transaction_stop

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def charge_point() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id="CP-1", registration_status="Accepted")


def start(charge_point: ChargePoint, **overrides: object) -> Transaction:
    values = {"connector_id": 1, "id_tag": "T", "meter_start": 100, "started_at": T0, "now": timezone.now()}
    values.update(overrides)
    transaction, _ = transaction_start(charge_point=charge_point, **values)  # type: ignore[arg-type]
    return transaction


def test_a_replayed_start_is_the_same_session(charge_point: ChargePoint) -> None:
    assert start(charge_point).pk == start(charge_point).pk
    assert Transaction.objects.count() == 1


def test_a_new_start_on_a_connector_closes_a_session_that_lost_its_stop(charge_point: ChargePoint) -> None:
    lost = start(charge_point)
    start(charge_point, started_at=T0 + timedelta(hours=2), meter_start=5000)
    lost.refresh_from_db()
    assert lost.stopped_at == T0 + timedelta(hours=2) and lost.stop_reason == "Other"
    # ...and when its stop finally arrives, it is still recorded.
    transaction_stop(
        charge_point=charge_point,
        transaction_id=lost.pk,
        meter_stop=4000,
        stopped_at=T0 + timedelta(hours=1),
        now=timezone.now(),
    )
    lost.refresh_from_db()
    assert lost.energy_wh == 3900 and lost.stopped_at == T0 + timedelta(hours=1)


def test_a_second_stop_changes_nothing(charge_point: ChargePoint) -> None:
    transaction = start(charge_point)
    transaction_stop(
        charge_point=charge_point,
        transaction_id=transaction.pk,
        meter_stop=900,
        stopped_at=T0,
        reason="Local",
        now=timezone.now(),
    )
    transaction_stop(
        charge_point=charge_point,
        transaction_id=transaction.pk,
        meter_stop=1,
        stopped_at=T0,
        reason="Remote",
        now=timezone.now(),
    )
    transaction.refresh_from_db()
    assert (transaction.meter_stop, transaction.stop_reason, transaction.energy_wh) == (900, "Local", 800)


def test_stop_of_another_chargers_session_is_unknown(charge_point: ChargePoint) -> None:
    other = ChargePoint.objects.create(charge_point_id="CP-2")
    transaction = start(other)
    transaction_stop(
        charge_point=charge_point, transaction_id=transaction.pk, meter_stop=1, stopped_at=T0, now=timezone.now()
    )
    assert Transaction.objects.get(pk=transaction.pk).stopped_at is None
    assert ChargerEvent.objects.filter(charge_point=charge_point, kind="unknown_transaction_stop").count() == 1


def test_replayed_meter_values_are_stored_once(charge_point: ChargePoint) -> None:
    samples = [
        MeterSample(
            timestamp=T0,
            values=(
                SampledValue(value="12.5", measurand="Power.Active.Import", unit="W"),
                SampledValue(value="signed:abc", format="SignedData"),
            ),
        )
    ]
    for _ in range(2):
        meter_values_record(
            charge_point=charge_point, connector_id=1, transaction=None, samples=samples, now=timezone.now()
        )
    assert MeterValue.objects.count() == 2
    assert sorted(MeterValue.objects.values_list("numeric_value", flat=True), key=str) == [12.5, None]
