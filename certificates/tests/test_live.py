"""The dashboard hears of every change the CA makes to a charger's certificates (``fleet_event`` "certificates"),
so its page and the fleet page re-render: the operator's revocation and the inventory's changes too, which come
in no OCPP message of the charger. A real Redis channel layer, read as a dashboard consumer reads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from backoffice.metrics import get_redis
from backoffice.tests.test_events import Dashboard
from certificates import services
from certificates.models import IssuedCertificate
from chargers.commands import command_next_send
from chargers.models import ChargePoint, Command

from .helpers import answer, call, csr_pem, root_pem

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dashboard() -> Iterator[Dashboard]:
    board = Dashboard()
    yield board
    board.close()


def sent(charger: ChargePoint) -> Command:
    """The queued CertificateSigned, marked sent. Its commit wakes the dispatcher: when the session's e2e stack
    runs, its worker may have sent it first (to nobody: no charger listens here), which is as good."""
    command = command_next_send(charge_point_pk=charger.pk) or Command.objects.get(
        charge_point=charger, action="CertificateSigned", status=Command.Status.SENT
    )
    return Command.objects.get(pk=command.pk)


def certificate_events(dashboard: Dashboard) -> list[dict[str, Any]]:
    return [
        {key: value for key, value in event.items() if key not in ("type", "kind")}
        for event in dashboard.events_until(dashboard.sentinel())
        if event.get("kind") == "certificates"
    ]


def test_every_change_of_the_ca_reaches_the_dashboard(dashboard: Dashboard) -> None:
    get_redis().delete(f"{services.REFUSAL_EVENT_PREFIX}CP-LIVE")
    charger = ChargePoint.objects.create(
        charge_point_id="CP-LIVE", ocpp_version="2.0.1", registration_status="Accepted", online=True
    )
    call("SignCertificate", {"csr": csr_pem("CP-LIVE")}, cid="CP-LIVE", version="2.0.1", message_id="m1")
    assert certificate_events(dashboard) == [{"charge_point_id": "CP-LIVE", "csr": "accepted"}]
    answer(sent(charger), {"status": "Accepted"})
    assert certificate_events(dashboard) == [{"charge_point_id": "CP-LIVE", "certificate": "active"}]
    services.certificate_revoke(certificate=IssuedCertificate.objects.get(), now=timezone.now())
    assert certificate_events(dashboard) == [{"charge_point_id": "CP-LIVE", "certificate": "revoked"}]
    call("SignCertificate", {"csr": 7}, cid="CP-LIVE", version="2.0.1", message_id="m2")
    assert certificate_events(dashboard) == [{"charge_point_id": "CP-LIVE", "csr": "refused"}]
    root = root_pem()
    services.installed_certificate_add(
        charge_point=charger, certificate_type="CSMSRootCertificate", certificate_pem=root, now=timezone.now()
    )
    assert certificate_events(dashboard) == [{"charge_point_id": "CP-LIVE", "installed": "added"}]
    services.installed_certificate_remove(
        charge_point=charger, hash_data=services.certificate_hash_data(certificate_pem=root)
    )
    assert certificate_events(dashboard) == [{"charge_point_id": "CP-LIVE", "installed": "removed"}]
    get_redis().delete(f"{services.REFUSAL_EVENT_PREFIX}CP-LIVE")
