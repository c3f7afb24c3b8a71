"""The message log: read-only, newest first, cursor pages, filters."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from mqtt_bridge.models import MessageLog

pytestmark = pytest.mark.django_db


def message_ids(client: APIClient, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/messages/{query}")
    assert response.status_code == 200, response.content
    return [row["message_id"] for row in response.json()["results"]]


def test_filters(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    assert message_ids(viewer_api) == ["4", "3", "2", "1", "0"]
    assert message_ids(viewer_api, "?charge_point=CP-2") == ["4", "3"]
    assert message_ids(viewer_api, "?action=BootNotification") == ["1", "0"]
    assert message_ids(viewer_api, "?direction=out") == ["1"]
    assert message_ids(viewer_api, "?kind=invalid&kind=result") == ["4", "1"]
    after = (fleet.now - timedelta(minutes=58, seconds=30)).isoformat()
    before = (fleet.now - timedelta(minutes=56, seconds=30)).isoformat()
    assert message_ids(viewer_api, f"?after={after.replace('+', '%2B')}&before={before.replace('+', '%2B')}") == [
        "3",
        "2",
    ]
    assert viewer_api.get("/api/v1/messages/?direction=sideways").status_code == 400
    assert viewer_api.get("/api/v1/messages/?after=soon").status_code == 400


def test_cursor_pages_are_stable_while_rows_are_appended(viewer_api: APIClient, fleet: SimpleNamespace) -> None:
    first = viewer_api.get("/api/v1/messages/?page_size=2").json()
    assert [m["message_id"] for m in first["results"]] == ["4", "3"] and "count" not in first
    MessageLog.objects.create(charge_point_id="CP-2", direction="in", kind="call", created_at=fleet.now)
    second = viewer_api.get(first["next"]).json()
    assert [m["message_id"] for m in second["results"]] == ["2", "1"]


def test_detail_and_read_only(viewer_api: APIClient, admin_api: APIClient, fleet: SimpleNamespace) -> None:
    entry = MessageLog.objects.get(message_id="4")
    body = viewer_api.get(f"/api/v1/messages/{entry.pk}/").json()
    assert body["raw"] == "not json" and body["payload"] is None and body["kind"] == "invalid"
    assert viewer_api.get("/api/v1/messages/0/").status_code == 404
    assert admin_api.post("/api/v1/messages/", {}, format="json").status_code in (403, 405)
    assert admin_api.delete(f"/api/v1/messages/{entry.pk}/").status_code in (403, 405)


def test_query_count(viewer_api: APIClient, fleet: SimpleNamespace, django_assert_max_num_queries: Any) -> None:
    MessageLog.objects.bulk_create(
        MessageLog(charge_point_id="CP-9", direction="in", kind="call", created_at=fleet.now) for _ in range(200)
    )
    with django_assert_max_num_queries(5):
        assert len(viewer_api.get("/api/v1/messages/?page_size=150").json()["results"]) == 150
