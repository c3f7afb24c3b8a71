"""OCPP security profiles on our gateway (issue 17 items 1, 2): real TLS, certificates made here.

Profile 1 (Basic auth, the username is the charge point id), profile 2 (TLS 1.2+ and Basic auth) and
profile 3 (a client certificate verified against the CSMS CA or an extra CA, not expired, not revoked,
whose CN is the charge point id). Refusals at the HTTP level answer 401/403 and are recorded as security
events of known chargers; refusals at the TLS level (a certificate that does not verify) never reach HTTP,
are counted and logged, and feed the address's lockout. Nothing stored changes on a refusal.

OCTT: TC_A_01_CSMS / TC_A_02_CSMS (2.0.1 block A: Basic authentication, valid and invalid
username/password) by name; the TLS cases of block A (server certificate, client certificate valid,
invalid, absent) by description: their OCTT numbers are not checked here.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ssl
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from backoffice.metrics import get_redis
from chargers.models import ChargePoint, ChargerEvent
from gateway import lockout, server, services
from gateway.models import ChargerCredential, SecurityProfile
from gateway.tests.certificates import NOW, Authority, Issued, client_context
from gateway.tests.conftest import OCPP16, GatewayThread, new_cid

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "profile-password-0001"
TLS_REFUSED = "refused at TLS"


@dataclass
class Pki:
    """The server's CA and certificate, the CSMS CA (chargers' certificates), an extra CA and a rogue one."""

    directory: Path
    server_ca: Authority
    server: Issued
    csms_ca: Authority
    vendor_ca: Authority
    rogue_ca: Authority

    def crls(self) -> list[str]:
        return [str(self.csms_ca.write_crl()), str(self.vendor_ca.write_crl())]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    server_ca = Authority(tmp_path, "server-ca")
    return Pki(
        directory=tmp_path,
        server_ca=server_ca,
        server=server_ca.issue("localhost", server=True, stem="server"),
        csms_ca=Authority(tmp_path, "csms-ca"),
        vendor_ca=Authority(tmp_path, "vendor-ca"),
        rogue_ca=Authority(tmp_path, "rogue-ca"),
    )


@pytest.fixture
def tls_gateway(start_gateway: Any, pki: Pki) -> Any:
    """``tls_gateway(**overrides)``: a gateway on TLS (client certificates of the CSMS and vendor CAs,
    their CRLs) with a plain listener beside it."""

    def start(**overrides: Any) -> GatewayThread:
        values: dict[str, Any] = {
            "tls_cert": str(pki.server.cert_file),
            "tls_key": str(pki.server.key_file),
            "tls_client_cas": [str(pki.csms_ca.cert_file), str(pki.vendor_ca.cert_file)],
            "tls_crls": pki.crls(),
            "plain_port": 0,
            **overrides,
        }
        return start_gateway(**values)

    return start


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def plain_url(gw: GatewayThread) -> str:
    return f"ws://127.0.0.1:{gw.gateway.plain_port}/ocpp"


async def handshake(
    url: str, cid: str, *, tls: ssl.SSLContext | None = None, headers: dict[str, str] | None = None
) -> int | str:
    """101 when the WebSocket opened, the HTTP status of a refusal, or TLS_REFUSED."""
    try:
        async with connect(
            f"{url}/{cid}", subprotocols=[OCPP16], additional_headers=headers or {}, ssl=tls, open_timeout=10
        ) as ws:
            await ws.ping()
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code
    except (ssl.SSLError, InvalidHandshake, OSError, EOFError):
        # TLS 1.3 sends the client's certificate after the client's Finished: the server's alert arrives
        # when the client reads the HTTP answer (an SSLError, or a connection closed mid-handshake).
        return TLS_REFUSED


def registered(cid: str, profile: int, *, password: str = PASSWORD) -> ChargerCredential:
    """A credential of that profile, and a charger row so that refusals have something to be recorded on."""
    ChargePoint.objects.create(charge_point_id=cid)
    credential, _ = services.credential_set_password(charge_point_id=cid, password=password, security_profile=profile)
    return credential


def security_events(cid: str) -> list[tuple[str, str]]:
    rows = ChargerEvent.objects.filter(charge_point__charge_point_id=cid, kind=ChargerEvent.Kind.SECURITY)
    return sorted((event.status, event.detail["reason"]) for event in rows)


def test_TC_A_01_CSMS_basic_auth_valid_username_and_password(start_gateway: Any) -> None:
    gw = start_gateway()
    cid = new_cid("p1")
    registered(cid, SecurityProfile.BASIC)
    assert asyncio.run(handshake(gw.url, cid, headers=basic(cid, PASSWORD))) == 101
    assert security_events(cid) == []


def test_TC_A_02_CSMS_basic_auth_invalid_password_and_another_chargers_username(start_gateway: Any) -> None:
    """The username must be the charge point id: another charger's valid credentials open nothing else."""
    gw = start_gateway()
    cid, other = new_cid("p1"), new_cid("p1")
    registered(cid, SecurityProfile.BASIC)
    registered(other, SecurityProfile.BASIC, password="the-other-password-01")
    before = list(ChargerCredential.objects.order_by("pk").values_list("password_hash", "updated_at"))

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, cid, headers=basic(cid, "wrong-password-00001")),
            await handshake(gw.url, cid, headers=basic(other, "the-other-password-01")),
            await handshake(gw.url, cid, headers=basic(cid.upper(), PASSWORD)),
        ]

    assert asyncio.run(scenario()) == [401, 401, 401]
    assert security_events(cid) == [("FailedLogin", "username_mismatch"), ("FailedLogin", "wrong_password")]
    assert list(ChargerCredential.objects.order_by("pk").values_list("password_hash", "updated_at")) == before


def test_a_basic_header_that_is_not_base64_is_401_and_recorded(start_gateway: Any) -> None:
    gw = start_gateway()
    cid = new_cid("p1")
    registered(cid, SecurityProfile.BASIC)

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, cid, headers={"Authorization": "Basic !!not-base64!!"}),
            await handshake(gw.url, cid, headers={"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}),
            await handshake(gw.url, cid, headers={"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}),
        ]

    assert asyncio.run(scenario()) == [401, 401, 401]
    # one event per charger and reason within the interval, however many attempts
    assert security_events(cid) == [("FailedLogin", "malformed_authorization")]
    assert gw.gateway.counters["handshake_unauthorized"] == 3


def test_unknown_ids_are_refused_and_leave_no_trace_in_the_fleet(start_gateway: Any) -> None:
    gw = start_gateway()
    cid = new_cid("p1")
    assert asyncio.run(handshake(gw.url, cid, headers=basic(cid, PASSWORD))) == 401
    assert not ChargePoint.objects.filter(charge_point_id=cid).exists()
    assert not ChargerCredential.objects.filter(charge_point_id=cid).exists()


def test_tls_server_certificate_and_tls_1_2_or_later(tls_gateway: Any, pki: Pki) -> None:
    """TLS with the server certificate: a charger trusting the server's CA connects over TLS 1.2 or 1.3;
    one that cannot speak 1.2 or later is refused at the handshake."""
    gw = tls_gateway()
    cid = new_cid("p2")
    registered(cid, SecurityProfile.TLS_BASIC)
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cafile=str(pki.server_ca.cert_file))
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
        old.minimum_version, old.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1

    async def scenario() -> tuple[int | str, str | None, int | str]:
        async with connect(
            f"{gw.url}/{cid}",
            subprotocols=[OCPP16],
            additional_headers=basic(cid, PASSWORD),
            ssl=client_context(pki.server_ca),
        ) as ws:
            version = ws.transport.get_extra_info("ssl_object").version()
        return 101, version, await handshake(gw.url, cid, tls=old, headers=basic(cid, PASSWORD))

    opened, version, too_old = asyncio.run(scenario())
    assert opened == 101 and version in ("TLSv1.2", "TLSv1.3")
    assert too_old == TLS_REFUSED


def test_the_minimum_tls_version_is_a_setting(tls_gateway: Any, pki: Pki) -> None:
    gw = tls_gateway(tls_min_version="1.3")
    cid = new_cid("p2")
    registered(cid, SecurityProfile.TLS_BASIC)
    tls12 = client_context(pki.server_ca)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    tls13 = client_context(pki.server_ca)

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, cid, tls=tls12, headers=basic(cid, PASSWORD)),
            await handshake(gw.url, cid, tls=tls13, headers=basic(cid, PASSWORD)),
        ]

    assert asyncio.run(scenario()) == [TLS_REFUSED, 101]
    assert gw.gateway.counters["tls_handshake_failed"] >= 1


def test_profile_2_needs_tls_and_basic_auth(tls_gateway: Any, pki: Pki) -> None:
    gw = tls_gateway()
    cid = new_cid("p2")
    registered(cid, SecurityProfile.TLS_BASIC)
    tls = client_context(pki.server_ca)

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, cid, tls=tls, headers=basic(cid, PASSWORD)),
            await handshake(plain_url(gw), cid, headers=basic(cid, PASSWORD)),  # right password, no TLS
            await handshake(gw.url, cid, tls=tls),  # TLS, no password
            await handshake(gw.url, cid, tls=tls, headers=basic(cid, "wrong-password-00001")),
        ]

    assert asyncio.run(scenario()) == [101, 401, 401, 401]
    assert security_events(cid) == [
        ("FailedLogin", "missing_credentials"),
        ("FailedLogin", "wrong_password"),
        ("SecurityProfileViolation", "tls_required"),
    ]


def test_profile_1_is_admitted_on_both_listeners(tls_gateway: Any, pki: Pki) -> None:
    gw = tls_gateway()
    cid = new_cid("p1")
    registered(cid, SecurityProfile.BASIC)

    async def scenario() -> list[int | str]:
        return [
            await handshake(plain_url(gw), cid, headers=basic(cid, PASSWORD)),
            await handshake(gw.url, cid, tls=client_context(pki.server_ca), headers=basic(cid, PASSWORD)),
        ]

    assert asyncio.run(scenario()) == [101, 101]


def test_profile_3_client_certificate_of_the_csms_ca_or_an_extra_ca(tls_gateway: Any, pki: Pki) -> None:
    """Mutual TLS: the certificate is the credential, no Authorization header is needed."""
    gw = tls_gateway()
    cid, vendor_cid = new_cid("p3"), new_cid("p3")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)
    registered(vendor_cid, SecurityProfile.TLS_CLIENT_CERT)

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, cid, tls=client_context(pki.server_ca, pki.csms_ca.issue(cid))),
            await handshake(gw.url, vendor_cid, tls=client_context(pki.server_ca, pki.vendor_ca.issue(vendor_cid))),
        ]

    assert asyncio.run(scenario()) == [101, 101]
    assert security_events(cid) == [] and security_events(vendor_cid) == []


def test_profile_3_without_a_client_certificate_is_refused_on_tls_and_plain(tls_gateway: Any, pki: Pki) -> None:
    """A charger registered at profile 3 is refused on profile 1 or 2, even with its password."""
    gw = tls_gateway()
    cid = new_cid("p3")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, cid, tls=client_context(pki.server_ca), headers=basic(cid, PASSWORD)),
            await handshake(plain_url(gw), cid, headers=basic(cid, PASSWORD)),
        ]

    assert asyncio.run(scenario()) == [401, 401]
    assert security_events(cid) == [
        ("SecurityProfileViolation", "client_certificate_required"),
        ("SecurityProfileViolation", "tls_required"),
    ]


def test_profile_3_certificate_for_another_charger_is_403(tls_gateway: Any, pki: Pki) -> None:
    """A valid certificate whose CN is not the id in the URL: authenticated, as someone else."""
    gw = tls_gateway()
    cid, other = new_cid("p3"), new_cid("p3")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)
    registered(other, SecurityProfile.BASIC)
    others_certificate = client_context(pki.server_ca, pki.csms_ca.issue(other))

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, cid, tls=others_certificate),
            # with the password of the URL's charger too: the certificate still says it is someone else
            await handshake(
                gw.url, other, tls=client_context(pki.server_ca, pki.csms_ca.issue(cid)), headers=basic(other, PASSWORD)
            ),
        ]

    assert asyncio.run(scenario()) == [403, 403]
    assert security_events(cid) == [("InvalidChargePointCertificate", "certificate_cn_mismatch")]
    assert security_events(other) == [("InvalidChargePointCertificate", "certificate_cn_mismatch")]
    assert gw.gateway.counters["handshake_forbidden"] == 2


@pytest.mark.parametrize("case", ["expired", "not yet valid", "wrong CA", "revoked"])
def test_profile_3_bad_client_certificates_are_refused_at_the_handshake(tls_gateway: Any, pki: Pki, case: str) -> None:
    cid = new_cid("p3")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)
    if case == "expired":
        certificate = pki.csms_ca.issue(
            cid, not_before=NOW - datetime.timedelta(days=10), not_after=NOW - datetime.timedelta(days=1)
        )
    elif case == "not yet valid":
        certificate = pki.csms_ca.issue(cid, not_before=NOW + datetime.timedelta(days=1))
    elif case == "wrong CA":
        certificate = pki.rogue_ca.issue(cid)
    else:
        certificate = pki.csms_ca.issue(cid)
        pki.csms_ca.revoke(certificate.certificate)
    gw = tls_gateway()  # after the revocation: the CRL is written when the gateway starts
    address_failures_before = failures_of_address("127.0.0.1")

    result = asyncio.run(handshake(gw.url, cid, tls=client_context(pki.server_ca, certificate)))
    assert result == TLS_REFUSED
    # The gateway counts the refusal once its side of the handshake is done, which may be after the client's.
    assert eventually(lambda: gw.gateway.counters["tls_certificate_refused"] == 1)
    assert gw.gateway.counters["tls_handshakes"] == 0
    assert eventually(lambda: failures_of_address("127.0.0.1") == address_failures_before + 1)
    # the path (and so the charge point id) travelled inside the refused session: nothing to record it on
    assert security_events(cid) == []


def test_a_crl_written_while_running_is_read_at_the_next_handshake(
    tls_gateway: Any, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "TLS_RELOAD_CHECK_SECONDS", 0.0)
    crl_file = pki.directory / "csms-ca.crl.pem"
    gw = tls_gateway(tls_crls=[str(pki.csms_ca.write_crl(crl_file)), str(pki.vendor_ca.write_crl())])
    cid = new_cid("p3")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)
    certificate = pki.csms_ca.issue(cid)
    assert asyncio.run(handshake(gw.url, cid, tls=client_context(pki.server_ca, certificate))) == 101
    pki.csms_ca.revoke(certificate.certificate)
    pki.csms_ca.write_crl(crl_file)
    assert asyncio.run(handshake(gw.url, cid, tls=client_context(pki.server_ca, certificate))) == TLS_REFUSED


def test_a_certificate_of_a_ca_without_a_crl_is_refused_when_crls_are_checked(tls_gateway: Any, pki: Pki) -> None:
    """OpenSSL's CRL check needs a CRL from every issuer: configuring CRLs for some CAs only refuses the others."""
    gw = tls_gateway(tls_crls=[str(pki.csms_ca.write_crl())])
    cid = new_cid("p3")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)
    tls = client_context(pki.server_ca, pki.vendor_ca.issue(cid))
    assert asyncio.run(handshake(gw.url, cid, tls=tls)) == TLS_REFUSED


def test_a_locked_address_is_dropped_before_the_tls_handshake(tls_gateway: Any, pki: Pki) -> None:
    policy = lockout.Policy(threshold=0, address_threshold=2, base_seconds=60)
    gw = tls_gateway(lockout_policy=policy)
    cid = new_cid("p3")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)
    rogue = client_context(pki.server_ca, pki.rogue_ca.issue(cid))
    good = client_context(pki.server_ca, pki.csms_ca.issue(cid))

    def locked() -> bool:
        return gw.gateway.authenticator.address_locked_for("127.0.0.1") > 0

    try:
        assert asyncio.run(handshake(gw.url, cid, tls=rogue)) == TLS_REFUSED
        assert asyncio.run(handshake(gw.url, cid, tls=rogue)) == TLS_REFUSED  # the second failure: locked
        assert eventually(locked)
        # even a good certificate, until the lock ends; dropped before any TLS work
        assert asyncio.run(handshake(gw.url, cid, tls=good)) == TLS_REFUSED
        assert gw.gateway.counters["tls_locked_out"] == 1
        assert gw.gateway.counters["tls_handshakes"] == 0
        assert gw.gateway.counters["tls_certificate_refused"] == 2
    finally:
        lockout.lockout_reset(address="127.0.0.1")


def test_anonymous_development_mode_does_not_skip_the_certificate_check(tls_gateway: Any, pki: Pki) -> None:
    gw = tls_gateway(allow_anonymous=True)
    cid = new_cid("p3")
    registered(cid, SecurityProfile.BASIC)
    tls = client_context(pki.server_ca, pki.csms_ca.issue(new_cid("p3")))
    assert asyncio.run(handshake(gw.url, cid, tls=tls)) == 403


def failures_of_address(address: str) -> int:
    return int(get_redis().get(f"{lockout.PREFIX}fail:addr:{address}") or 0)


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """The gateway records a refused TLS handshake after the client saw it fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_with_auth_url_the_gateway_sends_transport_and_certificate_to_gateway_auth(
    tls_gateway: Any, pki: Pki, live_server: Any, settings: Any
) -> None:
    """A gateway that asks /gateway/auth (CSMS_GATEWAY_AUTH_URL) sends what EMQX's templates send."""
    settings.CSMS_GATEWAY_AUTH_TOKEN = "between-gateway-and-us"
    url = f"{live_server.url}/gateway/auth"
    gw = tls_gateway(auth_url=url, auth_token="between-gateway-and-us")
    untrusted = tls_gateway(auth_url=url, auth_token="a-guess")
    p2, p3 = new_cid("p2"), new_cid("p3")
    registered(p2, SecurityProfile.TLS_BASIC)
    registered(p3, SecurityProfile.TLS_CLIENT_CERT)
    server_only = client_context(pki.server_ca)

    async def scenario() -> list[int | str]:
        return [
            await handshake(gw.url, p2, tls=server_only, headers=basic(p2, PASSWORD)),
            await handshake(plain_url(gw), p2, headers=basic(p2, PASSWORD)),
            await handshake(gw.url, p3, tls=client_context(pki.server_ca, pki.csms_ca.issue(p3))),
            await handshake(gw.url, p3, tls=client_context(pki.server_ca, pki.csms_ca.issue(p2))),
            await handshake(untrusted.url, p2, tls=server_only, headers=basic(p2, PASSWORD)),
        ]

    assert asyncio.run(scenario()) == [101, 401, 101, 403, 503]
    assert security_events(p2) == [("SecurityProfileViolation", "tls_required")]
    assert security_events(p3) == [("InvalidChargePointCertificate", "certificate_cn_mismatch")]
