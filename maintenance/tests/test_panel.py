"""The charger page's firmware and logs card: the current update with its timeline, the recent log uploads.

Rendered as the page and its live push render it (``dashboard.panels``), the card alone: other apps' cards
on the same page are theirs to test."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from chargers.models import ChargePoint
from dashboard.panels import CHARGER_PANELS, Panel
from maintenance import services

from .helpers import CHECKSUM, FIRMWARE_URL, LOG_URL, answered, charger, notify

pytestmark = pytest.mark.django_db


def card(charge_point: ChargePoint) -> str:
    panel: Panel = next(panel for panel in CHARGER_PANELS if panel.element == "charger-maintenance")
    assert panel.versions is None  # every charger, both versions
    return render_to_string(panel.template, {"detail": None, "panel": panel.context(charge_point)})


def test_the_card_shows_the_update_timeline_the_log_uploads_and_the_publications() -> None:
    station = charger("CS-PANEL", "2.0.1")
    update = services.firmware_update_request(charge_point=station, location=FIRMWARE_URL, retrieve_at=timezone.now())
    answered(station, {"status": "Accepted"})
    notify(station, "FirmwareStatusNotification", {"status": "Downloading", "requestId": update.request_id}, "n1")
    services.log_upload_request(charge_point=station, log_type="SecurityLog", remote_location=LOG_URL)
    answered(station, {"status": "Accepted", "filename": "sec.log"})
    services.firmware_publish_request(charge_point=station, location=FIRMWARE_URL, checksum=CHECKSUM)

    html = card(station)
    assert html.lstrip().startswith('<section id="charger-maintenance"')
    assert 'data-step="Requested"' in html and 'data-step="Accepted"' in html and 'data-step="Downloading"' in html
    assert 'id="log-upload-1"' in html and "sec.log" in html
    assert 'id="publication-1"' in html and CHECKSUM in html


def test_the_running_update_is_shown_before_a_newer_queued_one() -> None:
    cp = charger("CP-PANEL", "1.6")
    services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL, retrieve_at=timezone.now())
    answered(cp, {})
    services.firmware_update_request(charge_point=cp, location=FIRMWARE_URL + "?next", retrieve_at=timezone.now())
    html = card(cp)
    assert 'data-request="1"' in html and "?next" not in html


def test_a_charger_without_updates_says_so() -> None:
    html = card(charger("CP-EMPTY", "1.6"))
    assert "No firmware update" in html and "No log upload" in html and "Published firmware" not in html
