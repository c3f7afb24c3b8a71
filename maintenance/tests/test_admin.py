"""The admin lists and shows firmware updates (with their timeline), log uploads and publications."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from maintenance import services

from .helpers import CHECKSUM, FIRMWARE_URL, LOG_URL, answered, charger

pytestmark = pytest.mark.django_db


def test_the_admin_pages_of_the_maintenance_models() -> None:
    station = charger("CS-ADMIN", "2.0.1")
    update = services.firmware_update_request(charge_point=station, location=FIRMWARE_URL, retrieve_at=timezone.now())
    answered(station, {"status": "Accepted"})
    upload = services.log_upload_request(charge_point=station, log_type="SecurityLog", remote_location=LOG_URL)
    publication = services.firmware_publish_request(charge_point=station, location=FIRMWARE_URL, checksum=CHECKSUM)
    client = Client()
    client.force_login(User.objects.create_superuser(username="root", password="x" * 20))
    for model, pk in (("firmwareupdate", update.pk), ("logupload", upload.pk), ("firmwarepublication", publication.pk)):
        listed = client.get(f"/admin/maintenance/{model}/")
        assert listed.status_code == 200 and "CS-ADMIN" in listed.content.decode()
        assert client.get(f"/admin/maintenance/{model}/{pk}/change/").status_code == 200
    assert "Accepted" in client.get(f"/admin/maintenance/firmwareupdate/{update.pk}/change/").content.decode()
