"""Two workers making the CSMS CA at once (the first SignCertificate of a fleet arriving on two workers): one CA."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from certificates import services
from certificates.models import CertificateAuthority

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("round_", range(5))
def test_two_threads_making_the_ca_at_once_end_with_one_and_the_same(round_: int) -> None:
    start = threading.Barrier(2)
    made: list[int] = []
    errors: list[BaseException] = []

    def make() -> None:
        try:
            start.wait()
            made.append(services.ca_ensure().pk)
        except BaseException as exc:  # noqa: BLE001 (the assertion below reports it)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert CertificateAuthority.objects.count() == 1
    assert made[0] == made[1] == CertificateAuthority.objects.get().pk
