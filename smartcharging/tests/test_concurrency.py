"""Two parts of one profile report handled by two workers at once: both are counted, and both parts' profiles kept."""

from __future__ import annotations

import threading

import pytest
from django.db import connections
from django.utils import timezone

from chargers.models import ChargingProfile
from smartcharging import services
from smartcharging.models import ProfileReport

from .helpers import profile, station

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("round_", range(5))
def test_two_report_parts_at_once_are_both_counted(round_: int) -> None:
    cs = station()
    services.profile_report_request(charge_point=cs, request_id=1, criteria={}, now=timezone.now())
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def part(profile_id: int) -> None:
        try:
            start.wait()
            services.profiles_report(
                charge_point=cs,
                request_id=1,
                evse_id=1,
                charging_limit_source="CSO",
                profiles=[profile(profile_id)],
                tbc=True,
                criteria=services.ProfileCriteria(),
                now=timezone.now(),
            )
        except BaseException as exc:  # noqa: BLE001 (the assertion below reports it)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=part, args=(profile_id,)) for profile_id in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = ProfileReport.objects.get(charge_point=cs, request_id=1)
    assert (report.parts, report.profiles, report.status) == (2, 2, "reporting")
    assert sorted(ChargingProfile.objects.filter(active=True).values_list("profile_id", flat=True)) == [1, 2]
