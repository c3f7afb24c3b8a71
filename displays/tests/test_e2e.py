"""End to end, display messages (block O): an ``ocpp.v201`` station -> our gateway -> broker -> bridge -> Celery
worker -> back, the messages set, read and cleared from the operator API. The station (defined here) holds a
display: it takes what it supports, refuses AlwaysFront, reports its messages in two parts, and has one of
its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import connect

from apikeys.testing import ApiClientFactory
from conftest import Stack
from displays.models import DisplayMessage
from gateway.tests.conftest import new_cid, stack_topics
from gateway.tests.test_v201_e2e import OCPP201, STATION, T0, await_for, credentials

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

OWN: dict[str, Any] = {
    "id": 100,
    "priority": "NormalCycle",
    "message": {"format": "ASCII", "content": "Out of order soon"},
}


class Display(ChargePoint):
    """A 2.0.1 station with a display (the ``ocpp`` package checks every Call we send against the schemas)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: dict[int, dict[str, Any]] = {OWN["id"]: OWN}
        self.asked: list[tuple[str, Any]] = []

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> call_result.GetBaseReport:
        return call_result.GetBaseReport(status="NotSupported")

    @on("SetDisplayMessage")
    def on_set(self, message: dict[str, Any], **_: Any) -> call_result.SetDisplayMessage:
        self.asked.append(("SetDisplayMessage", message))
        if message["priority"] == "AlwaysFront":
            return call_result.SetDisplayMessage(status="NotSupportedPriority")
        self.messages[message["id"]] = message
        return call_result.SetDisplayMessage(status="Accepted")

    @on("GetDisplayMessages")
    def on_get(self, request_id: int, **_: Any) -> call_result.GetDisplayMessages:
        self.asked.append(("GetDisplayMessages", request_id))
        return call_result.GetDisplayMessages(status="Accepted" if self.messages else "Unknown")

    @after("GetDisplayMessages")
    async def after_get(self, request_id: int, **_: Any) -> None:
        held = [_wire(message) for message in self.messages.values()]
        if not held:
            return
        # Two parts: the first says more is coming.
        await self.call(call.NotifyDisplayMessages(request_id=request_id, message_info=held[:1], tbc=len(held) > 1))
        if len(held) > 1:
            await self.call(call.NotifyDisplayMessages(request_id=request_id, message_info=held[1:], tbc=False))

    @on("ClearDisplayMessage")
    def on_clear(self, id: int, **_: Any) -> call_result.ClearDisplayMessage:  # noqa: A002 (OCPP's name)
        self.asked.append(("ClearDisplayMessage", id))
        return call_result.ClearDisplayMessage(status="Accepted" if self.messages.pop(id, None) else "Unknown")


def _wire(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the station reports it (the ocpp package turns snake_case keys back to camelCase)."""
    return {_camel(key): value for key, value in message.items()}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def test_TC_O_01_TC_O_06_TC_O_02_TC_O_04_TC_O_05_display_messages_through_our_gateway(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201dm")
    headers = credentials(cid)
    client = api_client("operator")
    url = f"/api/v1/chargers/{cid}/display-messages/"

    def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.post(url + path, body or {}, format="json")
        assert response.status_code == 202, response.content
        result: dict[str, Any] = response.json()
        return result

    def status_of(message_id: int, status: str) -> DisplayMessage | None:
        return DisplayMessage.objects.filter(
            charge_point__charge_point_id=cid, message_id=message_id, status=status
        ).first()

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            station = Display(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert boot.status == "Accepted"
            await station.call(
                call.TransactionEvent(
                    event_type="Started",
                    timestamp=T0,
                    trigger_reason="Authorized",
                    seq_no=0,
                    transaction_info={"transactionId": "tx-dm-1", "chargingState": "Charging"},
                    evse={"id": 1, "connectorId": 1},
                    id_token={"idToken": "CARD-DM", "type": "ISO14443"},
                )
            )
            # TC_O_01: a message of no transaction; TC_O_06: one of the running session.
            first = await asyncio.to_thread(post, "", {"priority": "NormalCycle", "format": "UTF8", "content": "Hello"})
            await await_for(lambda: status_of(first["message_id"], "accepted"))
            tied = await asyncio.to_thread(
                post, "", {"priority": "InFront", "format": "ASCII", "content": "12 kWh", "transaction_id": "tx-dm-1"}
            )
            await await_for(lambda: status_of(tied["message_id"], "accepted"))
            sent_first, sent_tied = (message for action, message in station.asked if action == "SetDisplayMessage")
            assert "transaction_id" not in sent_first and sent_tied["transaction_id"] == "tx-dm-1"
            # The station refuses a priority it does not support.
            front = await asyncio.to_thread(post, "", {"priority": "AlwaysFront", "format": "ASCII", "content": "Now!"})
            refused = await await_for(lambda: status_of(front["message_id"], "rejected"))
            assert refused.answer == "NotSupportedPriority"

            # TC_O_02: read them all back: ours accepted, the station's own reported, in two parts.
            await asyncio.to_thread(post, "refresh/")
            own = await await_for(lambda: status_of(100, "reported"))
            assert (own.content, own.format) == ("Out of order soon", "ASCII")

            # TC_O_04: clear ours; TC_O_05: a message the station dropped by itself is Unknown to it.
            await asyncio.to_thread(post, f"{first['message_id']}/clear/")
            await await_for(lambda: status_of(first["message_id"], "cleared"))
            station.messages.pop(tied["message_id"])
            await asyncio.to_thread(post, f"{tied['message_id']}/clear/")
            gone = await await_for(lambda: status_of(tied["message_id"], "cleared"))
            assert gone.answer == "Unknown"
            receiver.cancel()

    asyncio.run(scenario())
    rows = DisplayMessage.objects.filter(charge_point__charge_point_id=cid).order_by("message_id")
    assert [(row.message_id, row.status) for row in rows] == [
        (1, "cleared"),
        (2, "cleared"),
        (3, "rejected"),
        (100, "reported"),
    ]
