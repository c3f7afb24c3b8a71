"""Two workers delivering the same frame at the same moment: real threads, real PostgreSQL locks."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from chargers.models import ChargePoint
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import MessageLog
from mqtt_bridge.processing import frame_handle
from transactions.models import Transaction

START = {"connectorId": 1, "idTag": "T1", "meterStart": 10, "timestamp": "2026-11-23T10:00:00Z"}


def race(frames: list[Frame]) -> list[Frame | None]:
    """Handle the frames in parallel threads, all held at the same point until every one got there.

    The test holds an ACCESS EXCLUSIVE lock on the transactions table, so every thread that gets
    past the charge point lock stops at its first look at that table. Without the charge point
    lock, every thread gets that far before any has written: the race is certain, not lucky.
    """
    replies: list[Frame | None] = [None] * len(frames)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            replies[index] = frame_handle(frames[index])
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)
        finally:
            connections.close_all()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE transactions_transaction IN ACCESS EXCLUSIVE MODE")
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(frames))]
        for thread in threads:
            thread.start()
        # Give every thread time to reach a lock (the charger row's, or the table's).
        threading.Event().wait(1.0)
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return replies


def start(message_id: str) -> Frame:
    return Frame(
        charge_point_id="CP-RACE",
        kind=Kind.CALL,
        message_id=message_id,
        action="StartTransaction",
        payload=START,
        received_at=utcnow(),
    )


@pytest.mark.django_db(transaction=True)
def test_same_start_transaction_from_two_workers_makes_one_transaction(settings: Any) -> None:
    settings.CSMS_BOOT_POLICY = "accept"
    ChargePoint.objects.create(charge_point_id="CP-RACE", registration_status="Accepted")
    first, second = race([start("same-id"), start("same-id")])
    assert first is not None and second is not None
    assert first == second  # the identical reply, transactionId included
    assert Transaction.objects.count() == 1
    # One delivery did the work; the charger lock made the other see it and replay the reply.
    assert MessageLog.objects.filter(error_description="duplicate delivery").count() == 1


@pytest.mark.django_db(transaction=True)
def test_offline_replay_racing_the_original_gets_the_same_transaction(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mqtt_bridge.processing")
    ChargePoint.objects.create(charge_point_id="CP-RACE", registration_status="Accepted")
    first, second = race([start("original"), start("replayed")])
    assert first is not None and second is not None
    assert first.payload["transactionId"] == second.payload["transactionId"]
    assert Transaction.objects.count() == 1
    # The charger lock serialises the two: the replay finds the session in its own bulk statement.
    # Without it both insert at once and the loser's statement fails; the one-by-one fallback then
    # rescues the reply, which is why the outcome alone cannot tell that the lock is there.
    assert not [record for record in caplog.records if "failed" in record.getMessage()]


@pytest.mark.django_db
def test_the_natural_key_constraint_refuses_a_second_session() -> None:
    charge_point = ChargePoint.objects.create(charge_point_id="CP-K")
    values = {
        "charge_point": charge_point,
        "connector_id": 1,
        "id_tag": "T",
        "meter_start": 0,
        "started_at": timezone.now(),
        "start_received_at": timezone.now(),
        "id_tag_status": "Accepted",
    }
    Transaction.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transaction.objects.create(**values)
