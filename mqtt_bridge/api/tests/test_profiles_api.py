"""The MQTT charger profile API and admin: admins write, every role reads, bad profiles get 400s with reasons."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from apikeys.testing import ApiClientFactory
from mqtt_bridge.models import MqttChargerProfile

pytestmark = pytest.mark.django_db

URL = "/api/v1/mqtt-profiles/"
BODY = {
    "name": "esp32",
    "uplink_template": "/charger/{cid}",
    "downlink_template": "/system/{cid}",
    "reply_encoding": "ocppj-action-id",
    "accepts_calls": False,
    "ids_restart_at_boot": True,
    "notes": "firmware 1.x",
}


def test_admins_write_profiles_and_every_role_reads_them(api_client: ApiClientFactory) -> None:
    admin, operator, viewer = api_client("admin"), api_client("operator"), api_client("viewer")
    assert operator.post(URL, BODY, format="json").status_code == 403
    created = admin.post(URL, BODY, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["url"].endswith("/api/v1/mqtt-profiles/esp32/") and created.json()["ocpp_version"] == "1.6"
    assert [row["name"] for row in viewer.get(URL).json()["results"]] == ["esp32"]
    assert viewer.get(URL + "?accepts_calls=true").json()["results"] == []
    assert viewer.patch(URL + "esp32/", {"accepts_calls": True}, format="json").status_code == 403
    changed = admin.patch(URL + "esp32/", {"accepts_calls": True}, format="json")
    assert changed.status_code == 200 and changed.json()["accepts_calls"] is True
    assert admin.delete(URL + "esp32/").status_code == 204
    assert not MqttChargerProfile.objects.exists()


def test_the_api_refuses_bad_profiles_with_reasons(admin_api: APIClient) -> None:
    bad = admin_api.post(
        URL, {**BODY, "uplink_template": "/charger/#", "downlink_template": "/system/+/{cid}"}, format="json"
    )
    assert bad.status_code == 400
    assert "must contain {cid} exactly once" in bad.json()["uplink_template"]
    assert "must not contain the + wildcard: it is a topic we publish on" in bad.json()["downlink_template"]
    assert admin_api.post(URL, BODY, format="json").status_code == 201
    twice = admin_api.post(URL, {**BODY, "name": "esp32b"}, format="json")
    assert twice.status_code == 400 and "of profile 'esp32'" in twice.json()["uplink_template"][0]
    renamed = admin_api.patch(URL + "esp32/", {"name": "esp33"}, format="json")
    assert renamed.status_code == 400 and "cannot change" in renamed.json()["name"][0]
    assert admin_api.post(URL, {**BODY, "name": "x\x00"}, format="json").status_code == 400


def test_the_admin_edits_profiles_with_the_same_checks(admin_client: Client, admin_user: User) -> None:
    add = "/admin/mqtt_bridge/mqttchargerprofile/add/"
    assert admin_client.get(add).status_code == 200
    form = {**BODY, "ocpp_version": "1.6", "accepts_calls": "", "ids_restart_at_boot": "on"}
    refused = admin_client.post(add, {**form, "downlink_template": "/charger/{cid}"})
    assert refused.status_code == 200 and "the bridge would read our own messages" in refused.content.decode()
    saved = admin_client.post(add, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    profile = MqttChargerProfile.objects.get(name="esp32")
    assert (profile.accepts_calls, profile.ids_restart_at_boot) == (False, True)
    assert profile.reply_encoding == "ocppj-action-id"
    change = f"/admin/mqtt_bridge/mqttchargerprofile/{profile.pk}/change/"
    assert admin_client.post(change, {**form, "name": "other", "accepts_calls": "on"}).status_code == 302
    profile.refresh_from_db()
    assert profile.name == "esp32" and profile.accepts_calls  # the name is read-only
