"""The charger page's firmware and logs card: the current update with its timeline, the recent log uploads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard.panels import as_fragments, charger_panels
from dashboard.selectors import charger_detail
from maintenance import services

from .helpers import FIRMWARE_URL, LOG_URL, answered, charger, notify

pytestmark = pytest.mark.django_db


def test_the_charger_page_shows_the_update_timeline_and_the_log_uploads() -> None:
    station = charger("CS-PANEL", "2.0.1")
    update = services.firmware_update_request(charge_point=station, location=FIRMWARE_URL, retrieve_at=timezone.now())
    answered(station, {"status": "Accepted"})
    notify(station, "FirmwareStatusNotification", {"status": "Downloading", "requestId": update.request_id}, "n1")
    services.log_upload_request(charge_point=station, log_type="SecurityLog", remote_location=LOG_URL)
    answered(station, {"status": "Accepted", "filename": "sec.log"})

    client = Client()
    client.force_login(User.objects.create_user(username="op"))
    page = client.get("/chargers/CS-PANEL/").content.decode()
    assert 'id="charger-maintenance"' in page
    assert 'data-step="Requested"' in page and 'data-step="Accepted"' in page and 'data-step="Downloading"' in page
    assert 'id="log-upload-1"' in page and "sec.log" in page

    # The live push renders the same card (what the consumer sends after a fleet_event).
    detail = charger_detail("CS-PANEL", {})
    assert detail is not None
    html = as_fragments(charger_panels(station, {"detail": detail}))["charger-maintenance"]
    assert "Downloading" in html


def test_a_charger_without_updates_says_so() -> None:
    cp = charger("CP-EMPTY", "1.6")
    html = as_fragments(charger_panels(cp, {"detail": None}))["charger-maintenance"]
    assert "No firmware update" in html and "No log upload" in html
