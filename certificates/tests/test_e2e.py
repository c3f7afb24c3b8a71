"""End to end, both versions: a charger on profile 2 (TLS + Basic auth) asks our CSMS CA for a certificate through
our gateway, the broker, the bridge and the worker, installs the chain it gets in CertificateSigned, and comes back
on profile 3 with it: the gateway verifies it against the exported CA (``manage.py ca_export`` as its client CA).

OCTT: the reconnection with the new client certificate that TC_A_11_CSMS (2.0.1) and TC_074_CSMS (1.6, steps 7
and 8) end with; their trigger step is test_renewal's. The charger is plain OCPP-J arrays over a websockets
connection; the ``stack`` fixture (root conftest.py) runs the bridge and the worker on the test database.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.db import connections
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from certificates.models import IssuedCertificate
from chargers.models import ChargePoint
from conftest import Stack
from gateway import services
from gateway.models import SecurityProfile
from gateway.tests.certificates import Authority, client_context
from gateway.tests.conftest import new_cid, stack_topics

from .helpers import csr_pem, key_ec

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "profile-password-0001"
SUBPROTOCOL = {"1.6": Subprotocol("ocpp1.6"), "2.0.1": Subprotocol("ocpp2.0.1")}


def wait_for(predicate: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    try:
        while not (result := predicate()):
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.1)
        return result
    finally:
        connections.close_all()


async def exchange(ws: ClientConnection, action: str, payload: dict[str, Any], calls: list[list[Any]]) -> Any:
    """Send a Call and return its result's payload; Calls of the CSMS on the way are kept in ``calls``
    and answered Accepted (CertificateSigned: the charger installs the chain)."""
    message_id = uuid.uuid4().hex[:12]
    await ws.send(json.dumps([2, message_id, action, payload]))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if message[0] == 2:
            calls.append(message)
            await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
            continue
        assert message[1] == message_id, message
        assert message[0] == 3, message
        return message[2]


async def next_call(ws: ClientConnection, calls: list[list[Any]], action: str) -> list[Any]:
    while not any(call[2] == action for call in calls):
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert message[0] == 2, message
        calls.append(message)
        await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
    return next(call for call in calls if call[2] == action)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_csr_to_certificate_signed_then_a_profile_3_reconnection_with_the_new_certificate(
    stack: Stack, start_gateway: Any, tmp_path: Path, version: str
) -> None:
    call_command("ca_export", str(tmp_path / "csms-ca.pem"))
    server_ca = Authority(tmp_path, "server-ca")
    server = server_ca.issue("localhost", server=True, stem="server")
    gw = start_gateway(
        **stack_topics(),
        tls_cert=str(server.cert_file),
        tls_key=str(server.key_file),
        tls_client_cas=[str(tmp_path / "csms-ca.pem")],
    )
    cid = new_cid("ca")
    ChargePoint.objects.create(charge_point_id=cid, ocpp_version=version, registration_status="Accepted")
    services.credential_set_password(charge_point_id=cid, password=PASSWORD, security_profile=SecurityProfile.TLS_BASIC)
    key = key_ec()
    calls: list[list[Any]] = []
    basic = {"Authorization": "Basic " + base64.b64encode(f"{cid}:{PASSWORD}".encode()).decode()}

    async def profile_2() -> Any:
        async with connect(
            f"{gw.url}/{cid}",
            subprotocols=[SUBPROTOCOL[version]],
            additional_headers=basic,
            ssl=client_context(server_ca),
            open_timeout=10,
        ) as ws:
            payload = {"csr": csr_pem(cid, key=key)}
            if version == "2.0.1":
                payload["certificateType"] = "ChargingStationCertificate"
            reply = await exchange(ws, "SignCertificate", payload, calls)
            signed = await next_call(ws, calls, "CertificateSigned")
            return reply, signed

    reply, signed = asyncio.run(profile_2())
    assert reply == {"status": "Accepted"}
    chain = signed[3]["certificateChain"]
    issued = wait_for(
        lambda: IssuedCertificate.objects.filter(charge_point__charge_point_id=cid, status="active").first()
    )
    assert issued.chain_pem == chain

    # The charger installed the chain and its key; the operator moves it to profile 3.
    (tmp_path / "charger.pem").write_text(chain)
    (tmp_path / "charger.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    services.credential_set_password(
        charge_point_id=cid, password=PASSWORD, security_profile=SecurityProfile.TLS_CLIENT_CERT
    )
    tls = ssl.create_default_context(cafile=str(server_ca.cert_file))
    tls.load_cert_chain(str(tmp_path / "charger.pem"), str(tmp_path / "charger.key"))

    async def profile_3() -> tuple[Any, str]:
        async with connect(f"{gw.url}/{cid}", subprotocols=[SUBPROTOCOL[version]], ssl=tls, open_timeout=10) as ws:
            peer = ws.transport.get_extra_info("ssl_object")
            return await exchange(ws, "Heartbeat", {}, calls), peer.version()

    heartbeat, tls_version = asyncio.run(profile_3())
    assert "currentTime" in heartbeat and tls_version in ("TLSv1.2", "TLSv1.3")
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    assert format(leaf.serial_number, "x") == issued.serial_number
