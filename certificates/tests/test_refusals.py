"""A SignCertificate whose payload fails its schema (an oversized CSR, a wrong type, no CSR at all): answered with
the version's CallError as before, and now recorded as a security event of the charger (throttled), with nothing
else stored. The hook (``chargers.ports`` refusal observers) can never change the answer.

No OCTT case sends a schema-invalid SignCertificate to a CSMS; the issue's "Bad input" section asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backoffice.metrics import get_redis
from certificates import services
from certificates.models import CertificateSigningRequest, IssuedCertificate
from chargers import ports
from chargers.models import ChargePoint, ChargerEvent, Command
from mqtt_bridge.frames import Frame, Kind

from .helpers import call, csr_pem

pytestmark = pytest.mark.django_db

CID = "CP-REFUSED"

# payload -> (1.6's CallError code, 2.0.1's): the spellings differ where the versions' do.
OVERSIZED = {"csr": "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 6000}
BAD: dict[str, tuple[dict[str, Any], str, str]] = {
    "oversized": (OVERSIZED, "PropertyConstraintViolation", "PropertyConstraintViolation"),
    "wrong_type": ({"csr": 12345}, "TypeConstraintViolation", "TypeConstraintViolation"),
    "no_csr": ({}, "OccurenceConstraintViolation", "OccurrenceConstraintViolation"),
}


def _bad(name: str, version: str) -> tuple[dict[str, Any], str]:
    payload, v16, v201 = BAD[name]
    return payload, v16 if version == "1.6" else v201


@pytest.fixture(autouse=True)
def no_throttle_left() -> Iterator[None]:
    key = f"{services.REFUSAL_EVENT_PREFIX}{CID}"
    get_redis().delete(key)
    yield
    get_redis().delete(key)


@pytest.fixture(params=["1.6", "2.0.1"])
def charger(request: pytest.FixtureRequest) -> ChargePoint:
    return ChargePoint.objects.create(
        charge_point_id=CID, ocpp_version=request.param, registration_status="Accepted", online=True
    )


def sign(charger: ChargePoint, payload: dict[str, Any], message_id: str = "m1") -> Frame:
    return call("SignCertificate", payload, cid=CID, version=charger.ocpp_version, message_id=message_id)


def security_events(charger: ChargePoint) -> list[ChargerEvent]:
    return list(ChargerEvent.objects.filter(charge_point=charger, kind=ChargerEvent.Kind.SECURITY))


@pytest.mark.parametrize("bad", sorted(BAD))
def test_a_schema_refused_sign_certificate_is_answered_its_call_error_and_recorded_as_a_security_event(
    charger: ChargePoint, bad: str
) -> None:
    payload, code = _bad(bad, charger.ocpp_version)
    reply = sign(charger, payload)
    assert (reply.kind, reply.error_code) == (Kind.ERROR, code)
    [event] = security_events(charger)
    assert event.status == "InvalidCertificateSigningRequest"
    assert event.detail["code"] == code and event.detail["refusedBy"] == "schema"
    assert event.detail["ocppVersion"] == charger.ocpp_version
    assert event.detail["field"] == reply.error_details["field"]
    # Nothing else is stored: no CSR (there is none to keep), no certificate, no command.
    assert not CertificateSigningRequest.objects.exists() and not IssuedCertificate.objects.exists()
    assert not Command.objects.exists()


def test_a_flood_of_schema_refused_sign_certificates_is_one_security_event(charger: ChargePoint) -> None:
    payload, code = _bad("wrong_type", charger.ocpp_version)
    replies = [sign(charger, payload, f"m{i}") for i in range(5)]
    assert {(reply.kind, reply.error_code) for reply in replies} == {(Kind.ERROR, code)}
    assert len(security_events(charger)) == 1
    # A CSR the CA refuses is recorded whatever the throttle: it keeps its CSR row and its event.
    refused = sign(charger, {"csr": csr_pem("SOMEONE-ELSE")}, "m9")
    assert refused.kind == Kind.RESULT and refused.payload["status"] == "Rejected"
    assert len(security_events(charger)) == 2


def test_a_valid_sign_certificate_records_no_refusal(charger: ChargePoint) -> None:
    reply = sign(charger, {"csr": csr_pem(CID)})
    assert reply.kind == Kind.RESULT and reply.payload["status"] == "Accepted"
    assert security_events(charger) == []


def _failing_observer(charge_point: ChargePoint, refusal: ports.CallRefusal) -> None:
    # It writes, then fails: what it wrote must go with it, and the answer must not change.
    ChargerEvent.objects.create(
        charge_point=charge_point,
        kind=ChargerEvent.Kind.SECURITY,
        status="half-done",
        received_at=charge_point.created_at,
    )
    raise RuntimeError("an observer with a bug")


def test_an_observer_that_raises_changes_nothing_of_the_answer(
    charger: ChargePoint, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    payload, code = _bad("oversized", charger.ocpp_version)
    registered = list(ports._REFUSAL_OBSERVERS["SignCertificate"])
    assert services.sign_certificate_refused in registered
    monkeypatch.setitem(ports._REFUSAL_OBSERVERS, "SignCertificate", [])
    unobserved = sign(charger, payload, "m1")
    monkeypatch.setitem(ports._REFUSAL_OBSERVERS, "SignCertificate", [_failing_observer, *registered])
    observed = sign(charger, payload, "m2")
    assert (observed.kind, observed.error_code, observed.error_description, observed.error_details) == (
        unobserved.kind,
        unobserved.error_code,
        unobserved.error_description,
        unobserved.error_details,
    )
    assert observed.error_code == code
    assert "an observer with a bug" in caplog.text
    # The failing observer's write is undone; the certificates' observer after it still recorded the event.
    assert [event.status for event in security_events(charger)] == ["InvalidCertificateSigningRequest"]
