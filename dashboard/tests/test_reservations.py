"""The charger page's Reservations card: a 2.0.1 station's reservations with their EVSE (or any), connector
type, group token, expiry and status, as the commands and the station's answers made them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chargers.commands import command_enqueue
from chargers.models import ChargePoint, Reservation

pytestmark = pytest.mark.django_db

TOKEN = {"idToken": "CARD-1", "type": "ISO14443"}


def test_the_charger_page_lists_its_reservations(operator_client: Client) -> None:
    cp = ChargePoint.objects.create(charge_point_id="CS-RES", ocpp_version="2.0.1", registration_status="Accepted")
    expiry = (timezone.now() + timedelta(hours=1)).isoformat()
    for payload in (
        {"id": 5, "evseId": 2, "groupIdToken": {"idToken": "FLEET", "type": "Central"}},
        {"id": 6, "connectorType": "cType2"},
    ):
        command_enqueue(
            charge_point=cp, action="ReserveNow", payload={"expiryDateTime": expiry, "idToken": TOKEN, **payload}
        )
    Reservation.objects.filter(reservation_id=5).update(status=Reservation.Status.ACCEPTED)

    html = operator_client.get("/chargers/CS-RES/").content.decode()
    card = re.search(r'<section id="charger-reservations".*?</section>', html, re.S)
    assert card is not None
    five = re.search(r'data-reservation="5">(.*?)</tr>', card.group(0), re.S)
    six = re.search(r'data-reservation="6">(.*?)</tr>', card.group(0), re.S)
    assert five is not None and six is not None
    assert "group FLEET" in five.group(1) and "<td data-where>EVSE 2</td>" in five.group(1)
    assert "data-status>accepted<" in five.group(1)
    assert "<td data-where>any EVSE (cType2)</td>" in six.group(1) and "data-status>requested<" in six.group(1)


def test_a_charger_without_reservations_says_so(operator_client: Client) -> None:
    ChargePoint.objects.create(charge_point_id="CS-NONE", ocpp_version="2.0.1")
    html = operator_client.get("/chargers/CS-NONE/").content.decode()
    assert 'id="charger-reservations"' in html and "No reservation." in html
