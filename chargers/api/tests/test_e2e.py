"""End to end: a command created through the API goes out on ocpp/cs/{cid}; the charger's answer shows in the API."""

from __future__ import annotations

import time
from typing import Any

import pytest

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint
from conftest import GatewayClient, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for(predicate: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def test_a_command_from_the_api_reaches_the_charger_and_its_result_shows(
    stack: Stack, gateway: GatewayClient, cid: str, api_client: ApiClientFactory
) -> None:
    gateway.listen(cid)
    ChargePoint.objects.create(charge_point_id=cid, registration_status="Accepted", online=True)
    client = api_client("operator")

    created = client.post(f"/api/v1/chargers/{cid}/reset/", {"type": "Hard"}, format="json")
    assert created.status_code == 202, created.content
    location = created["Location"]

    call = gateway.next_call(cid)
    assert (call["MessageTypeId"], call["Action"], call["Payload"]) == (2, "Reset", {"type": "Hard"})
    assert call["UniqueId"] == created.json()["message_id"]
    sent = client.get(location).json()
    assert sent["status"] == "sent" and sent["sent_at"] is not None

    gateway.answer(cid, call["UniqueId"], {"status": "Accepted"})
    done = wait_for(lambda: (body := client.get(location).json())["status"] == "accepted" and body)
    assert done["response"] == {"status": "Accepted"} and done["completed_at"] is not None

    logged = client.get(f"/api/v1/messages/?charge_point={cid}&action=Reset").json()["results"]
    assert [(m["direction"], m["kind"]) for m in logged] == [("in", "result"), ("out", "call")]
    listed = client.get(f"/api/v1/commands/?charge_point={cid}&status=accepted").json()
    assert [c["id"] for c in listed["results"]] == [done["id"]]
