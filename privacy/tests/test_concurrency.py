"""Two parts of one customer information report handled at once by two workers: the charger row lock makes
the second wait for the first, so that the part that ends the report sees the others and completes it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connections, transaction

from chargers.models import ChargePoint
from privacy.models import CustomerInformationRequest
from privacy.services import customer_information_part_record

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_the_last_part_waits_for_a_part_still_being_written_and_completes_the_report() -> None:
    station = ChargePoint.objects.create(charge_point_id="CS-RACE", ocpp_version="2.0.1")
    CustomerInformationRequest.objects.create(charge_point=station, request_id=1, report=True, status="accepted")
    first_written = threading.Event()
    errors: list[BaseException] = []

    def record(seq_no: int, tbc: bool) -> None:
        customer_information_part_record(
            charge_point=station, request_id=1, seq_no=seq_no, data=str(seq_no), tbc=tbc, generated_at=NOW, now=NOW
        )

    def first() -> None:
        try:
            # Part 0 is written, and its transaction stays open a while (a slow worker).
            with transaction.atomic():
                record(0, True)
                first_written.set()
                time.sleep(0.5)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            first_written.set()
            connections.close_all()

    def last() -> None:
        try:
            first_written.wait(10)
            record(1, False)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=last)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    report = CustomerInformationRequest.objects.get(charge_point=station, request_id=1)
    assert (report.status, report.parts.count(), report.complete) == ("accepted", 2, True)
