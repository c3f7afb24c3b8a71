"""Two operators asking the same charger for an update at once get two requestIds, not one twice."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections, transaction
from django.utils import timezone

from maintenance import services
from maintenance.models import FirmwareUpdate

from .helpers import FIRMWARE_URL, charger

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_requests_at_once_get_different_request_ids() -> None:
    station = charger("CS-RACE", "2.0.1")
    first_queued = threading.Event()
    errors: list[BaseException] = []
    ids: list[int] = []

    def first() -> None:
        try:
            with transaction.atomic():
                ids.append(
                    services.firmware_update_request(
                        charge_point=station, location=FIRMWARE_URL, retrieve_at=timezone.now()
                    ).request_id
                )
                first_queued.set()
                # The second request starts while this one is not committed: without the charger's row
                # lock it would take requestId 1 too.
                time.sleep(0.5)
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            errors.append(exc)
        finally:
            first_queued.set()
            connections.close_all()

    def second() -> None:
        try:
            first_queued.wait(10)
            ids.append(
                services.firmware_update_request(
                    charge_point=station, location=FIRMWARE_URL, retrieve_at=timezone.now()
                ).request_id
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    assert sorted(ids) == [1, 2]
    assert sorted(FirmwareUpdate.objects.values_list("request_id", flat=True)) == [1, 2]
