"""/gateway/auth, EMQX's HTTP authenticator (issue 17 items 1, 2, 6): the body of deploy/emqx's templates
(clientid, username, password, peerhost, transport, cert_common_name), the username rule, the security
profiles as EMQX's listeners report them, the shared secret, the backoffice's own MQTT login, and bad
bodies (never a 500, nothing stored changes)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from chargers.models import ChargePoint, ChargerEvent
from gateway import lockout, services
from gateway.models import ChargerCredential, SecurityProfile
from gateway.tests.certificates import Authority

pytestmark = pytest.mark.django_db
PASSWORD = "emqx-password-00001"


@pytest.fixture
def peerhost() -> Iterator[str]:
    value = f"198.51.100.{uuid.uuid4().int % 250 + 2}"
    lockout.lockout_reset(address=value)
    yield value
    lockout.lockout_reset(address=value)


def new_cid() -> str:
    return f"av-{uuid.uuid4().hex[:10]}"


def registered(profile: int = SecurityProfile.BASIC) -> str:
    cid = new_cid()
    ChargePoint.objects.create(charge_point_id=cid)
    services.credential_set_password(charge_point_id=cid, password=PASSWORD, security_profile=profile)
    return cid


def ask(body: Any, *, headers: dict[str, str] | None = None, status: int = 200) -> str:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    response = Client().post("/gateway/auth", data=raw, content_type="application/json", headers=headers or {})
    assert response.status_code == status, response.content
    answer = response.json()
    assert answer["is_superuser"] is False
    return str(answer["result"])


def body(cid: str, peerhost: str, **fields: str) -> dict[str, str]:
    return {"clientid": cid, "username": cid, "password": PASSWORD, "peerhost": peerhost, **fields}


def events(cid: str) -> list[tuple[str, str]]:
    rows = ChargerEvent.objects.filter(charge_point__charge_point_id=cid, kind=ChargerEvent.Kind.SECURITY)
    return sorted((event.status, event.detail["reason"]) for event in rows)


def test_TC_A_01_CSMS_valid_username_and_password_through_emqx(peerhost: str) -> None:
    cid = registered()
    assert ask(body(cid, peerhost)) == "allow"
    assert ask(body(cid, peerhost, transport="wss")) == "allow"  # profile 1 over TLS too


def test_TC_A_02_CSMS_invalid_password_or_another_chargers_username(peerhost: str) -> None:
    cid, other = registered(), registered()
    assert ask(body(cid, peerhost, password="wrong-password-00001")) == "deny"
    # the hole of issue 17: any charger's credentials opened any id
    assert ask(body(cid, peerhost, username=other)) == "deny"
    assert ask({"username": cid, "password": PASSWORD, "peerhost": peerhost}) == "deny"  # no clientid
    assert events(cid) == [("FailedLogin", "username_mismatch"), ("FailedLogin", "wrong_password")]
    event = ChargerEvent.objects.filter(charge_point__charge_point_id=cid).first()
    assert event is not None and event.detail["gateway"] == "emqx-ws" and event.detail["address"] == peerhost


def test_profile_2_through_emqx_needs_the_wss_listener(peerhost: str) -> None:
    cid = registered(SecurityProfile.TLS_BASIC)
    assert ask(body(cid, peerhost)) == "deny"  # a template without transport: plain
    assert ask(body(cid, peerhost, transport="ws")) == "deny"
    assert ask(body(cid, peerhost, transport="wss")) == "allow"
    assert events(cid) == [("SecurityProfileViolation", "tls_required")]


def test_profile_3_through_emqx_takes_the_certificate_cn(peerhost: str) -> None:
    cid, other = registered(SecurityProfile.TLS_CLIENT_CERT), registered()
    no_password = {"clientid": cid, "username": "", "password": "", "peerhost": peerhost, "transport": "wss"}
    assert ask({**no_password, "cert_common_name": cid}) == "allow"
    assert ask({**no_password, "cert_common_name": ""}) == "deny"  # EMQX: no certificate
    assert ask({**no_password, "cert_common_name": "undefined"}) == "deny"
    assert ask({**no_password, "cert_common_name": other}) == "deny"
    # a CN on a plain listener is no certificate at all (only wss carries one)
    assert ask({**no_password, "transport": "ws", "cert_common_name": cid}) == "deny"
    assert ask(body(cid, peerhost, transport="wss")) == "deny"  # the password is not a certificate
    assert events(cid) == [
        ("InvalidChargePointCertificate", "certificate_cn_mismatch"),
        ("SecurityProfileViolation", "client_certificate_required"),
        ("SecurityProfileViolation", "tls_required"),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'"a string"',
        b"\xff\xfe",
        b'{"clientid": 5, "username": [], "password": {}}',
        b'{"clientid": "a/b", "username": "a/b", "password": "x"}',
        json.dumps({"clientid": "x" * 2000, "username": "x", "password": "y"}).encode(),
        b'{"clientid": "cp", "username": "cp", "password": "x", "transport": "carrier-pigeon"}',
    ],
)
def test_bad_bodies_are_denied_never_a_500(raw: bytes) -> None:
    before = list(ChargerCredential.objects.values_list("pk", "password_hash", "updated_at"))
    assert ask(raw) == "deny"
    assert list(ChargerCredential.objects.values_list("pk", "password_hash", "updated_at")) == before


def test_a_peerhost_that_is_no_ip_address_is_ignored() -> None:
    cid = registered()
    assert ask(body(cid, "not an address", password="wrong-password-00001")) == "deny"
    event = ChargerEvent.objects.get(charge_point__charge_point_id=cid)
    assert event.detail["address"] == ""


def test_refusals_change_nothing_stored(peerhost: str) -> None:
    cid = registered(SecurityProfile.TLS_BASIC)
    before = ChargerCredential.objects.get(charge_point_id=cid)
    for attempt in (
        body(cid, peerhost, password="wrong-password-00001"),
        body(cid, peerhost, transport="ws"),
        body(cid, peerhost, transport="wss", cert_common_name="someone-else"),
    ):
        assert ask(attempt) == "deny"
    after = ChargerCredential.objects.get(charge_point_id=cid)
    assert (after.password_hash, after.security_profile, after.enabled, after.updated_at) == (
        before.password_hash,
        before.security_profile,
        before.enabled,
        before.updated_at,
    )
    assert ChargePoint.objects.filter(charge_point_id=cid).count() == 1


def test_the_shared_secret_is_required_when_set(settings: Any, peerhost: str) -> None:
    settings.CSMS_GATEWAY_AUTH_TOKEN = "s3cret-between-emqx-and-us"
    cid = registered()
    assert ask(body(cid, peerhost), status=403) == "deny"
    assert ask(body(cid, peerhost), headers={"Authorization": "Bearer guess"}, status=403) == "deny"
    assert ask(body(cid, peerhost), headers={"Authorization": "Bearer s3cret-between-emqx-and-us"}) == "allow"


def test_the_backoffice_mqtt_login_and_chargers_speaking_mqtt(settings: Any, peerhost: str) -> None:
    settings.MQTT_URL = "mqtt://csms:bridge%40pass@emqx:1883"
    mqtt = {"clientid": "csms-bridge", "peerhost": peerhost, "transport": "mqtt"}
    assert ask({**mqtt, "username": "csms", "password": "bridge@pass"}) == "allow"
    assert ask({**mqtt, "username": "csms", "password": "wrong"}) == "deny"
    # not over the OCPP listeners: there the backoffice's user is nobody
    assert ask({**mqtt, "username": "csms", "password": "bridge@pass", "transport": "ws"}) == "deny"
    cid, tls_only = registered(), registered(SecurityProfile.TLS_BASIC)
    assert ask(body(cid, peerhost, transport="mqtt")) == "allow"  # client id = username = charge point id
    assert ask(body(tls_only, peerhost, transport="mqtt")) == "deny"  # EMQX's MQTT listener is plain
    settings.MQTT_URL = "mqtt://csms@emqx:1883"  # no password configured: never the backoffice
    assert ask({**mqtt, "username": "csms", "password": ""}) == "deny"


def test_the_backoffice_mqtt_login_is_locked_by_address_only(settings: Any, peerhost: str) -> None:
    settings.MQTT_URL = "mqtt://csms:bridge-pass@emqx:1883"
    settings.CSMS_AUTH_LOCKOUT_ADDRESS_THRESHOLD = 2
    mqtt = {"clientid": "csms-bridge", "username": "csms", "transport": "mqtt"}
    assert [ask({**mqtt, "password": "guess", "peerhost": peerhost}) for _ in range(2)] == ["deny", "deny"]
    assert ask({**mqtt, "password": "bridge-pass", "peerhost": peerhost}) == "deny"  # that address: locked
    assert ask({**mqtt, "password": "bridge-pass", "peerhost": "203.0.113.9"}) == "allow"  # the bridge: not


def test_emqx_certificates_are_checked_against_the_crls(settings: Any, peerhost: str, tmp_path: Path) -> None:
    """EMQX checks no CRL on wss: with CSMS_GATEWAY_TLS_CRL set, /gateway/auth looks the certificate up."""
    ca = Authority(tmp_path, "csms-ca")
    cid = registered(SecurityProfile.TLS_CLIENT_CERT)
    good, revoked = ca.issue(cid), ca.issue(cid)
    ca.revoke(revoked.certificate)
    settings.CSMS_GATEWAY_TLS_CRL = [str(ca.write_crl())]
    wss = {"clientid": cid, "username": "", "password": "", "peerhost": peerhost, "transport": "wss"}
    wss["cert_common_name"] = cid
    good_pem = good.cert_file.read_text()
    assert ask({**wss, "cert_pem": good_pem}) == "allow"
    assert ask({**wss, "cert_pem": base64.b64encode(good_pem.encode()).decode()}) == "allow"
    assert ask({**wss, "cert_pem": revoked.cert_file.read_text()}) == "deny"
    assert ask(wss) == "deny"  # not sent: it cannot be shown not to be revoked
    assert ask({**wss, "cert_pem": "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----"}) == "deny"
    assert ask({**wss, "cert_pem": "A" * 20000}) == "deny"
    assert events(cid) == [("InvalidChargePointCertificate", "certificate_revoked")]
    settings.CSMS_GATEWAY_TLS_CRL = []
    assert ask(wss) == "allow"  # no CRLs configured: EMQX's verification is all there is


def test_deploy_emqx_sends_what_gateway_auth_needs_and_denies_the_rest() -> None:
    """deploy/emqx drifts from this view silently otherwise: without clientid the username rule cannot hold,
    without peerhost there is no address lockout, without transport every listener looks plain."""
    deploy = Path(__file__).resolve().parents[2] / "deploy" / "emqx"
    hocon = (deploy / "base.hocon").read_text()
    for field in ("clientid", "username", "password", "peerhost"):
        assert hocon.count(f'{field} = "${{{field}}}"') >= 3, field  # ws, wss (commented), MQTT
    assert hocon.count('transport = "ws"') == 1 and hocon.count('transport = "mqtt"') == 1
    assert 'transport = "wss"' in hocon and 'cert_common_name = "${cert_common_name}"' in hocon
    assert "no_match = deny" in hocon and hocon.count('url = "http://web:8000/gateway/auth"') == 3
    rules = [line for line in (deploy / "acl.conf").read_text().splitlines() if line.startswith("{")]
    assert rules[-1] == "{deny, all}."
    # whatever every client may do, it may do on topics of its own client id only
    assert all("${clientid}" in rule for rule in rules if rule.startswith("{allow, all"))
