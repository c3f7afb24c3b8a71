"""The guided security profile upgrade end to end: an ``ocpp`` package client (1.6 and 2.0.1) on our gateway's
plain listener at profile 1 -> broker -> bridge -> Celery worker -> back. The operator starts the upgrade through
the API; the charger answers each step as it comes, then reconnects over TLS at the new profile (2.0.1: with the
certificate our CA issued it, no password; 1.6: TLS and its password), which completes the upgrade; its old
profile is refused from then on.

OCTT: TC_A_19_CSMS (2.0.1, profile 1 -> 3), TC_083_CSMS (1.6, profile 1 -> 2).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from apikeys.testing import ApiClientFactory
from certificates.models import InstalledCertificate, IssuedCertificate
from chargers.device_model import VariableKey, VariableValue, device_variable_values_set
from chargers.models import ChargePoint
from conftest import Stack
from gateway.models import ChargerCredential, SecurityProfileUpgrade
from gateway.tests.certificates import client_context
from gateway.tests.conftest import new_cid, stack_topics
from gateway.tests.test_security_profiles import (  # noqa: F401 (fixtures: pki, tls_gateway)
    PASSWORD,
    Pki,
    basic,
    handshake,
    pki,
    plain_url,
    registered,
    tls_gateway,
)
from gateway.tests.test_v201_e2e import await_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SUBPROTOCOL = {"1.6": Subprotocol("ocpp1.6"), "2.0.1": Subprotocol("ocpp2.0.1")}
ROOT_TYPE = {"1.6": "CentralSystemRootCertificate", "2.0.1": "CSMSRootCertificate"}


class Charger16(ChargePoint16):
    asked: list[tuple[str, str]]

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        self.asked.append((key, value))
        return result16.ChangeConfiguration(status="Accepted")

    @on("GetConfiguration")
    def on_get_configuration(self, **_: Any) -> Any:
        return result16.GetConfiguration(configuration_key=[])


class Station201(ChargePoint201):
    asked: list[tuple[str, str]]

    @on("SetNetworkProfile")
    def on_set_network_profile(self, configuration_slot: int, connection_data: dict[str, Any], **_: Any) -> Any:
        self.asked.append(("SetNetworkProfile", f"{configuration_slot}:{connection_data['security_profile']}"))
        return result201.SetNetworkProfile(status="Accepted")

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self.asked.extend(("SetVariables", item["attribute_value"]) for item in set_variable_data)
        return result201.SetVariables(
            set_variable_result=[
                {"attributeStatus": "Accepted", "component": item["component"], "variable": item["variable"]}
                for item in set_variable_data
            ]
        )

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> Any:  # noqa: A002 (the OCPP field's name)
        self.asked.append(("Reset", type))
        return result201.Reset(status="Accepted")

    @on("GetBaseReport")
    def on_get_base_report(self, **_: Any) -> Any:
        return result201.GetBaseReport(status="Accepted")


async def boot(station: Any, version: str) -> None:
    if version == "1.6":
        reply = await station.call(call16.BootNotification(charge_point_vendor="ACME", charge_point_model="AC-22"))
    else:
        reply = await station.call(
            call201.BootNotification(charging_station={"vendorName": "ACME", "model": "AC-22"}, reason="PowerUp")
        )
    assert reply.status == "Accepted"


def preconditions(cid: str, version: str) -> None:
    """What the operator did before: the CSMS root installed, (2.0.1) our certificate issued, the slots read."""
    cp = ChargePoint.objects.get(charge_point_id=cid)
    now = timezone.now()
    InstalledCertificate.objects.create(
        charge_point=cp,
        certificate_type=ROOT_TYPE[version],
        hash_algorithm="SHA256",
        issuer_name_hash="aa" * 32,
        issuer_key_hash="bb" * 32,
        serial_number="1",
        reported_at=now,
    )
    IssuedCertificate.objects.create(
        charge_point=cp,
        serial_number=f"e2e{cp.pk:x}",
        common_name=cid,
        issuer="CSMS CA",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=30),
        certificate_pem="-",
        chain_pem="-",
        status=IssuedCertificate.Status.ACTIVE,
    )
    with transaction.atomic():
        device_variable_values_set(
            charge_point=cp,
            values=[VariableValue(VariableKey("OCPPCommCtrlr", "NetworkConfigurationPriority"), "1")],
            now=now,
        )


@pytest.mark.parametrize(
    ("version", "to", "expected"),
    [
        ("2.0.1", 3, [("SetNetworkProfile", "2:3"), ("SetVariables", "2,1"), ("Reset", "OnIdle")]),
        ("1.6", 2, [("SecurityProfile", "2")]),
    ],
    ids=["TC_A_19_CSMS", "TC_083_CSMS"],
)
def test_upgrade_through_our_gateway(
    stack: Stack,
    request: pytest.FixtureRequest,
    api_client: ApiClientFactory,
    version: str,
    to: int,
    expected: list[tuple[str, str]],
) -> None:
    gw = request.getfixturevalue("tls_gateway")(**stack_topics())
    authorities: Pki = request.getfixturevalue("pki")
    cid = new_cid(f"upg{version.replace('.', '')}")
    registered(cid, 1)
    ChargePoint.objects.filter(charge_point_id=cid).update(registration_status="Accepted")
    admin = api_client("admin")
    kind = Charger16 if version == "1.6" else Station201

    async def scenario() -> None:
        async with connect(
            f"{plain_url(gw)}/{cid}", subprotocols=[SUBPROTOCOL[version]], additional_headers=basic(cid, PASSWORD)
        ) as ws:
            station = kind(cid, ws, response_timeout=20)
            station.asked = []
            receiver = asyncio.create_task(station.start())
            await boot(station, version)
            await await_for(lambda: ChargePoint.objects.filter(charge_point_id=cid, online=True).exists())
            await asyncio.to_thread(preconditions, cid, version)
            response = await asyncio.to_thread(
                admin.post,
                f"/api/v1/credentials/{cid}/security-profile-upgrade/",
                {"security_profile": to, "csms_url": gw.url},
                format="json",
            )
            assert response.status_code == 202, response.content
            await await_for(
                lambda: SecurityProfileUpgrade.objects.filter(
                    charge_point__charge_point_id=cid, status="reconnecting"
                ).exists(),
                timeout=40,
            )
            assert station.asked == expected
            receiver.cancel()
        # The charger comes back at the new profile.
        if to == 3:
            tls, headers = client_context(authorities.server_ca, authorities.csms_ca.issue(cid)), {}
        else:
            tls, headers = client_context(authorities.server_ca), basic(cid, PASSWORD)
        async with connect(
            f"{gw.url}/{cid}", subprotocols=[SUBPROTOCOL[version]], additional_headers=headers, ssl=tls
        ) as ws:
            station = kind(cid, ws, response_timeout=20)
            station.asked = []
            receiver = asyncio.create_task(station.start())
            await boot(station, version)
            receiver.cancel()

    asyncio.run(scenario())
    done = SecurityProfileUpgrade.objects.get(charge_point__charge_point_id=cid)
    assert done.status == "completed"
    assert ChargerCredential.objects.get(charge_point_id=cid).security_profile == to
    listed = admin.get(f"/api/v1/credentials/{cid}/security-profile-upgrades/").json()
    assert listed[0]["status"] == "completed" and all(step["status"] == "accepted" for step in listed[0]["steps"])
    # The old profile is refused from now on.
    assert asyncio.run(handshake(plain_url(gw), cid, headers=basic(cid, PASSWORD))) == 401
