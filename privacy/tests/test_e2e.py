"""End to end, customer information (block N, N09/N10): an ``ocpp.v201`` station -> our gateway -> broker ->
bridge -> Celery worker -> back. The station (defined here) holds a local list; the operator asks it for a
customer's data and to clear them: it reports in two parts, and the CSMS takes the token out of its local
list with a differential update."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from websockets.asyncio.client import connect

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint as ChargePointRow
from conftest import Stack
from gateway.tests.conftest import new_cid, stack_topics
from gateway.tests.test_v201_e2e import OCPP201, STATION, T0, await_for, credentials
from privacy.models import CustomerInformationRequest
from privacy.services import customer_information_report

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TOKEN = {"idToken": "100000C01", "type": "Central"}
DATA = ["Name: A. Driver; ", "last session 2026-11-30"]


class Station(ChargePoint):
    """A 2.0.1 station with a local list and a customer's data (the ``ocpp`` package checks our Calls)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local_list: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.updates: list[dict[str, Any]] = []
        self.asked: list[dict[str, Any]] = []

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> call_result.GetBaseReport:
        return call_result.GetBaseReport(status="NotSupported")

    @on("SendLocalList")
    def on_send_local_list(
        self, version_number: int, update_type: str, local_authorization_list: list[dict[str, Any]] | None = None
    ) -> call_result.SendLocalList:
        self.updates.append({"version": version_number, "type": update_type, "list": local_authorization_list})
        if update_type == "Full":
            self.local_list = {}
        for entry in local_authorization_list or []:
            if "id_token_info" in entry:
                self.local_list[entry["id_token"]["id_token"]] = entry
            else:
                self.local_list.pop(entry["id_token"]["id_token"], None)
        self.version = version_number
        return call_result.SendLocalList(status="Accepted")

    @on("CustomerInformation")
    def on_customer_information(self, request_id: int, report: bool, clear: bool, **kwargs: Any) -> Any:
        self.asked.append({"request_id": request_id, "report": report, "clear": clear, **kwargs})
        return call_result.CustomerInformation(status="Accepted")

    @after("CustomerInformation")
    async def after_customer_information(self, request_id: int, report: bool, **_: Any) -> None:
        parts = DATA if report else [""]
        for seq_no, data in enumerate(parts):
            await self.call(
                call.NotifyCustomerInformation(
                    data=data, seq_no=seq_no, generated_at=T0, request_id=request_id, tbc=seq_no < len(parts) - 1
                )
            )


def test_TC_N_27_TC_N_30_customer_information_report_and_clear_through_our_gateway(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid("v201ci")
    headers = credentials(cid)
    client = api_client("operator")
    url = f"/api/v1/chargers/{cid}/customer-information/"

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, body, format="json")
        assert response.status_code == 202, response.content
        result: dict[str, Any] = response.json()
        return result

    def local_list_version() -> int | None:
        return ChargePointRow.objects.get(charge_point_id=cid).local_list_version

    def complete(request_id: int) -> CustomerInformationRequest | None:
        return CustomerInformationRequest.objects.filter(
            charge_point__charge_point_id=cid, request_id=request_id, status="accepted", complete=True
        ).first()

    async def scenario() -> None:
        async with connect(f"{gw.url}/{cid}", subprotocols=[OCPP201], additional_headers=headers) as ws:  # type: ignore[list-item]
            station = Station(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            boot = await station.call(call.BootNotification(charging_station=STATION, reason="PowerUp"))
            assert boot.status == "Accepted"
            # The station holds a local list (version 1) with the customer's token and another.
            full = {
                "versionNumber": 1,
                "updateType": "Full",
                "localAuthorizationList": [
                    {"idToken": TOKEN, "idTokenInfo": {"status": "Accepted"}},
                    {"idToken": {"idToken": "OTHER", "type": "Central"}, "idTokenInfo": {"status": "Accepted"}},
                ],
            }
            await asyncio.to_thread(
                post, "/api/v1/commands/", {"charge_point_id": cid, "action": "SendLocalList", "payload": full}
            )
            await await_for(lambda: local_list_version() == 1)

            # TC_N_27: a report of the customer's data, in two parts.
            asked = await asyncio.to_thread(
                post, url, {"report": True, "id_token": {"id_token": TOKEN["idToken"], "type": TOKEN["type"]}}
            )
            got = await await_for(lambda: complete(asked["request_id"]))
            assert await asyncio.to_thread(customer_information_report, request=got) == "".join(DATA)
            assert station.asked[0]["id_token"] == {"id_token": "100000C01", "type": "Central"}
            assert await asyncio.to_thread(local_list_version) == 1  # a report changes no list

            # TC_N_30: clear and report: the token leaves the station's local list (Differential, version 2).
            cleared = await asyncio.to_thread(
                post,
                url,
                {"report": True, "clear": True, "id_token": {"id_token": TOKEN["idToken"], "type": TOKEN["type"]}},
            )
            await await_for(lambda: complete(cleared["request_id"]))
            await await_for(lambda: local_list_version() == 2)
            assert station.updates[-1] == {
                "version": 2,
                "type": "Differential",
                "list": [{"id_token": {"id_token": "100000C01", "type": "Central"}}],
            }
            assert set(station.local_list) == {"OTHER"}
            receiver.cancel()

    asyncio.run(scenario())
    cleared_row = CustomerInformationRequest.objects.get(charge_point__charge_point_id=cid, request_id=2)
    update = cleared_row.local_list_command
    assert update is not None
    assert (update.action, update.status, update.request["versionNumber"]) == ("SendLocalList", "accepted", 2)
