"""Credential rotation end to end (issue 17 item 4): an ``ocpp`` package client (1.6 and 2.0.1) -> our gateway ->
broker -> bridge -> Celery worker -> back. The operator rotates the password through the API; the charger answers
the command, drops its connection and reconnects: with the new password when it answered Accepted (the old one is
then refused at our gateway's handshake), with the old one when it answered Rejected (the new one is refused).

OCTT: TC_073_CSMS (1.6), TC_A_09_CSMS (2.0.1, Accepted), TC_A_10_CSMS (2.0.1, Rejected).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from apikeys.testing import ApiClientFactory
from chargers.models import ChargePoint as ChargePointRow
from chargers.models import Command, ConfigurationKey, DeviceVariable
from conftest import Stack
from gateway import rotation, services
from gateway.models import CredentialRotation
from gateway.tests.conftest import new_cid, stack_topics
from gateway.tests.test_v201_e2e import await_for
from mqtt_bridge.models import MessageLog

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
OLD = "old-password-e2e-0001"
NEW = "New-password:e2e+0002"
SUBPROTOCOL = {"1.6": Subprotocol("ocpp1.6"), "2.0.1": Subprotocol("ocpp2.0.1")}


class Charger16(ChargePoint16):
    """A 1.6 charger with the security extension: stores an AuthorizationKey when told to, or refuses."""

    answer = "Accepted"
    key: str | None = None

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        if key == "AuthorizationKey" and self.answer in ("Accepted", "RebootRequired"):
            self.key = value
        return result16.ChangeConfiguration(status=self.answer)

    @on("GetConfiguration")
    def on_get_configuration(self, **_: Any) -> Any:
        return result16.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "60"}]
        )


class Station201(ChargePoint201):
    """A 2.0.1 station: SecurityCtrlr.BasicAuthPassword set when told to, or refused."""

    answer = "Accepted"
    key: str | None = None

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in set_variable_data:
            if (item["component"]["name"], item["variable"]["name"]) == ("SecurityCtrlr", "BasicAuthPassword"):
                if self.answer == "Accepted":
                    self.key = item["attribute_value"]
            results.append(
                {"attributeStatus": self.answer, "component": item["component"], "variable": item["variable"]}
            )
        return result201.SetVariables(set_variable_result=results)

    @on("GetBaseReport")
    def on_get_base_report(self, **_: Any) -> Any:
        return result201.GetBaseReport(status="Accepted")


def basic(cid: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{cid}:{password}".encode()).decode()}


async def opens(url: str, cid: str, password: str, version: str) -> int:
    """101 when our gateway opens the WebSocket with this password, else the HTTP status it refused with."""
    try:
        async with connect(
            f"{url}/{cid}", subprotocols=[SUBPROTOCOL[version]], additional_headers=basic(cid, password)
        ):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def boot(station: Any, version: str) -> None:
    if version == "1.6":
        reply = await station.call(call16.BootNotification(charge_point_vendor="ACME", charge_point_model="AC-22"))
    else:
        reply = await station.call(
            call201.BootNotification(charging_station={"vendorName": "ACME", "model": "AC-22"}, reason="PowerUp")
        )
    assert reply.status == "Accepted"


@pytest.mark.parametrize(
    ("version", "answer"),
    [("1.6", "Accepted"), ("1.6", "Rejected"), ("2.0.1", "Accepted"), ("2.0.1", "Rejected")],
    ids=["TC_073_CSMS", "1.6-rejected", "TC_A_09_CSMS", "TC_A_10_CSMS"],
)
def test_rotation_through_our_gateway(
    stack: Stack, start_gateway: Any, api_client: ApiClientFactory, version: str, answer: str
) -> None:
    gw = start_gateway(**stack_topics())
    cid = new_cid(f"rot{version.replace('.', '')}")
    services.credential_set_password(charge_point_id=cid, password=OLD)
    admin = api_client("admin")
    kind = Charger16 if version == "1.6" else Station201

    async def scenario() -> None:
        async with connect(
            f"{gw.url}/{cid}", subprotocols=[SUBPROTOCOL[version]], additional_headers=basic(cid, OLD)
        ) as ws:
            station = kind(cid, ws, response_timeout=20)
            station.answer = answer
            receiver = asyncio.create_task(station.start())
            await boot(station, version)
            await await_for(lambda: ChargePointRow.objects.filter(charge_point_id=cid, online=True).exists())
            response = await asyncio.to_thread(
                admin.post, f"/api/v1/credentials/{cid}/rotate/", {"password": NEW}, format="json"
            )
            assert response.status_code == 202, response.content
            await await_for(
                lambda: (
                    CredentialRotation.objects.filter(charge_point__charge_point_id=cid)
                    .exclude(status="pending")
                    .first()
                ),
                timeout=30,
            )
            assert station.key == (NEW if answer == "Accepted" else None)
            receiver.cancel()
        # The charger reconnects with the password it now holds; the other one is refused at the handshake.
        held, other = (NEW, OLD) if answer == "Accepted" else (OLD, NEW)
        assert await opens(gw.url, cid, other, version) == 401
        async with connect(
            f"{gw.url}/{cid}", subprotocols=[SUBPROTOCOL[version]], additional_headers=basic(cid, held)
        ) as ws:
            station = kind(cid, ws, response_timeout=20)
            receiver = asyncio.create_task(station.start())
            await boot(station, version)
            receiver.cancel()

    asyncio.run(scenario())
    done = CredentialRotation.objects.get(charge_point__charge_point_id=cid)
    assert done.status == ("accepted" if answer == "Accepted" else "failed")
    listed = admin.get(f"/api/v1/credentials/{cid}/rotations/").json()
    assert [r["status"] for r in listed] == [done.status]
    # No copy of the new password is left in what we store.
    assert done.command is not None
    command = Command.objects.get(pk=done.command.pk)
    assert rotation.SPELLINGS[version].password_of(command.request) == rotation.SECRET_MASK
    logged = MessageLog.objects.filter(message_id=command.message_id, direction="out")
    assert logged.exists() and all(NEW not in str(row.payload) for row in logged)
    assert not ConfigurationKey.objects.filter(value__contains=NEW).exists()
    assert not DeviceVariable.objects.filter(value__contains=NEW).exists()
