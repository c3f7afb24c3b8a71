"""Guided security profile upgrade (issue 17 item 4; 2.0.1 A05, 1.6 whitepaper "Upgrade Charge Point Security
Profile"): preconditions refused with a reason, each step queued after the previous one is Accepted, the state
stored and shown, and the charger's first handshake at the new profile (real TLS on our gateway) completing it:
its credential raised, lower profiles refused from then on.

OCTT: TC_083_CSMS (1.6 Upgrade Charge Point Security Profile - Accepted), TC_A_19_CSMS (2.0.1 Upgrade Charging
Station Security Profile - Accepted: SetNetworkProfile, SetVariables NetworkConfigurationPriority, Reset, the
old profile refused afterwards).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from certificates.models import InstalledCertificate, IssuedCertificate
from certificates.tests.helpers import answer
from chargers.commands import CommandError, command_next_send
from chargers.device_model import VariableKey, VariableValue, device_variable_values_set
from chargers.models import ChargePoint, Command
from gateway import services, upgrade
from gateway.models import ChargerCredential, SecurityProfile, SecurityProfileUpgrade
from gateway.tests.certificates import client_context
from gateway.tests.conftest import new_cid
from gateway.tests.test_security_profiles import (  # noqa: F401 (fixtures: pki, tls_gateway)
    PASSWORD,
    TLS_REFUSED,
    Pki,
    basic,
    handshake,
    pki,
    plain_url,
    registered,
    tls_gateway,
)
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.processing import results_handle

pytestmark = pytest.mark.django_db(transaction=True)
ROOT_TYPE = {"1.6": "CentralSystemRootCertificate", "2.0.1": "CSMSRootCertificate"}
URL = "wss://csms.example.com:443/ocpp"


def charger(version: str, profile: int = SecurityProfile.BASIC, *, root: bool = True) -> ChargePoint:
    cid = new_cid("up")
    registered(cid, profile)
    cp = ChargePoint.objects.get(charge_point_id=cid)
    ChargePoint.objects.filter(pk=cp.pk).update(ocpp_version=version, registration_status="Accepted", online=True)
    cp.refresh_from_db()
    if root:
        InstalledCertificate.objects.create(
            charge_point=cp,
            certificate_type=ROOT_TYPE[version],
            hash_algorithm="SHA256",
            issuer_name_hash="aa" * 32,
            issuer_key_hash="bb" * 32,
            serial_number="1",
            reported_at=timezone.now(),
        )
    return cp


def send(cp: ChargePoint) -> Command:
    """The charger's next command, marked sent. These tests commit, so a step queued after an answer is also
    handed to the dispatch task: a worker of the session's stack (the e2e tests') may have sent it first."""
    command = command_next_send(charge_point_pk=cp.pk)
    if command is None:
        command = Command.objects.get(charge_point=cp, status=Command.Status.SENT)
    return Command.objects.get(pk=command.pk)


def certified(cp: ChargePoint, *, days: int = 30) -> None:
    """An active charging station certificate from our CA (as an accepted CertificateSigned leaves it)."""
    now = timezone.now()
    IssuedCertificate.objects.create(
        charge_point=cp,
        serial_number=f"{cp.pk:x}",
        common_name=cp.charge_point_id,
        issuer="CSMS CA",
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=days),
        certificate_pem="-",
        chain_pem="-",
        status=IssuedCertificate.Status.ACTIVE,
    )


def priority_known(cp: ChargePoint, value: str) -> None:
    # In a transaction, as its callers run it (its COPY goes through a temporary table dropped at commit).
    with transaction.atomic():
        device_variable_values_set(
            charge_point=cp,
            values=[VariableValue(VariableKey("OCPPCommCtrlr", "NetworkConfigurationPriority"), value)],
            now=timezone.now(),
        )


def steps(upgrade_row: SecurityProfileUpgrade) -> list[tuple[str, str, str]]:
    return [(s.action, s.status, s.answer) for s in upgrade_row.steps.order_by("position")]


def profile_of(cp: ChargePoint) -> tuple[int, int | None]:
    credential = ChargerCredential.objects.get(charge_point_id=cp.charge_point_id)
    return credential.security_profile, credential.upgrade_to_profile


@pytest.mark.parametrize(
    ("version", "profile", "to", "setup", "reason"),
    [
        ("1.6", 2, 2, None, "no downgrade, no same-profile"),
        ("1.6", 3, 2, None, "no downgrade"),
        ("2.0.1", 1, 1, None, "profile 2 or 3"),
        ("1.6", 0, 2, None, "profile 0"),
        ("1.6", 1, 2, "no-root", "no CentralSystemRootCertificate in the charger's installed certificates"),
        ("2.0.1", 1, 2, "no-root", "no CSMSRootCertificate"),
        ("2.0.1", 1, 3, None, "active charging station certificate"),
        ("1.6", 1, 3, "expired", "active charging station certificate"),
        ("2.0.1", 1, 2, "no-url", "wss:// URL"),
        ("2.0.1", 1, 2, "no-priority", "NetworkConfigurationPriority is unknown"),
    ],
)
def test_preconditions_refused_with_a_reason(
    version: str, profile: int, to: int, setup: str | None, reason: str
) -> None:
    cp = charger(version, profile, root=setup != "no-root")
    if setup == "expired":
        certified(cp, days=-1)
    if setup != "no-priority":
        priority_known(cp, "1")
    options = upgrade.UpgradeOptions(csms_url="" if setup == "no-url" else URL)
    with pytest.raises(CommandError, match=reason):
        upgrade.upgrade_start(charge_point=cp, to_profile=to, options=options)
    assert not SecurityProfileUpgrade.objects.filter(charge_point=cp).exists()
    assert not Command.objects.filter(charge_point=cp).exists()
    assert profile_of(cp) == (profile, None)


def test_TC_083_CSMS_1_6_upgrade_to_profile_2_completed_by_a_tls_handshake(tls_gateway: Any, pki: Pki) -> None:  # noqa: F811 (the fixtures)
    gw = tls_gateway()
    cp = charger("1.6")
    cid = cp.charge_point_id
    started = upgrade.upgrade_start(charge_point=cp, to_profile=2)
    command = send(cp)
    assert (command.action, command.request) == ("ChangeConfiguration", {"key": "SecurityProfile", "value": "2"})
    assert profile_of(cp) == (1, 2)
    with pytest.raises(CommandError, match="already running"):
        upgrade.upgrade_start(charge_point=cp, to_profile=3)

    answer(command, {"status": "Accepted"})
    started.refresh_from_db()
    assert started.status == "reconnecting" and steps(started) == [("ChangeConfiguration", "accepted", "Accepted")]
    generation = services.credential_generation(charge_point_id=cid)

    async def scenario() -> list[int | str]:
        return [
            # While it runs the old profile still opens (the charger may not have switched yet) ...
            await handshake(plain_url(gw), cid, headers=basic(cid, PASSWORD)),
            # ... and the first handshake at the new profile completes the upgrade ...
            await handshake(gw.url, cid, tls=client_context(pki.server_ca), headers=basic(cid, PASSWORD)),
            # ... after which the old profile is refused.
            await handshake(plain_url(gw), cid, headers=basic(cid, PASSWORD)),
        ]

    assert asyncio.run(scenario()) == [101, 101, 401]
    # The login caches learn that the credential changed (a cached plain login must not open any more).
    assert services.credential_generation(charge_point_id=cid) != generation
    started.refresh_from_db()
    assert started.status == "completed" and started.completed_at is not None
    assert profile_of(cp) == (2, None)


def test_TC_A_19_CSMS_2_0_1_upgrade_to_profile_3_step_by_step(tls_gateway: Any, pki: Pki) -> None:  # noqa: F811 (the fixtures)
    gw = tls_gateway()
    cp = charger("2.0.1")
    cid = cp.charge_point_id
    certified(cp)
    priority_known(cp, "1")
    started = upgrade.upgrade_start(charge_point=cp, to_profile=3, options=upgrade.UpgradeOptions(csms_url=URL))

    first = send(cp)
    assert first.action == "SetNetworkProfile"
    assert first.request == {
        "configurationSlot": 2,
        "connectionData": {
            "ocppVersion": "OCPP20",
            "ocppTransport": "JSON",
            "ocppCsmsUrl": URL,
            "messageTimeout": 30,
            "securityProfile": 3,
            "ocppInterface": "Wired0",
        },
    }
    # One step at a time: nothing else is queued before the answer.
    assert Command.objects.filter(charge_point=cp).count() == 1
    answer(first, {"status": "Accepted"})
    second = send(cp)
    assert second.action == "SetVariables"
    assert second.request["setVariableData"][0]["attributeValue"] == "2,1"
    answer(
        second,
        {
            "setVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "NetworkConfigurationPriority"},
                }
            ]
        },
    )
    third = send(cp)
    assert (third.action, third.request) == ("Reset", {"type": "OnIdle"})
    answer(third, {"status": "Scheduled"})
    started.refresh_from_db()
    assert started.status == "reconnecting"
    assert steps(started) == [
        ("SetNetworkProfile", "accepted", "Accepted"),
        ("SetVariables", "accepted", "Accepted"),
        ("Reset", "accepted", "Scheduled"),
    ]

    station_certificate = pki.csms_ca.issue(cid)

    async def scenario() -> list[int | str]:
        return [
            await handshake(
                gw.url, cid, tls=client_context(pki.server_ca, station_certificate), headers=None
            ),  # profile 3: no password, the certificate's CN is the id
            await handshake(gw.url, cid, tls=client_context(pki.server_ca), headers=basic(cid, PASSWORD)),
            await handshake(plain_url(gw), cid, headers=basic(cid, PASSWORD)),
        ]

    results = asyncio.run(scenario())
    assert results[0] == 101 and results[1] in (401, TLS_REFUSED) and results[2] == 401
    started.refresh_from_db()
    assert started.status == "completed"
    assert profile_of(cp) == (3, None)


def test_a_step_not_accepted_fails_the_upgrade_with_the_reason_and_queues_nothing_more() -> None:
    cp = charger("2.0.1")
    started = upgrade.upgrade_start(
        charge_point=cp, to_profile=2, options=upgrade.UpgradeOptions(csms_url=URL, configuration_slot=1)
    )
    answer(send(cp), {"status": "Rejected"})
    started.refresh_from_db()
    assert (started.status, started.reason) == ("failed", "SetNetworkProfile answered Rejected")
    assert Command.objects.filter(charge_point=cp).count() == 1
    assert profile_of(cp) == (1, None)  # the charger keeps its profile, and only that one


def test_a_step_answered_with_a_call_error_fails_the_upgrade() -> None:
    cp = charger("1.6")
    started = upgrade.upgrade_start(charge_point=cp, to_profile=2)
    command = send(cp)
    results_handle(
        [
            Frame(
                charge_point_id=cp.charge_point_id,
                kind=Kind.ERROR,
                message_id=command.message_id,
                error_code="NotSupported",
                ocpp_version="1.6",
                received_at=utcnow(),
            )
        ]
    )
    upgrade.upgrades_settle(charge_point=cp)
    started.refresh_from_db()
    assert started.status == "failed" and "CallError" in started.reason and "NotSupported" in started.reason
    assert profile_of(cp) == (1, None)


def test_a_downgrade_by_hand_is_refused() -> None:
    from chargers.commands import command_enqueue

    cp = charger("1.6", SecurityProfile.TLS_BASIC)
    with pytest.raises(CommandError, match="no downgrade"):
        command_enqueue(charge_point=cp, action="ChangeConfiguration", payload={"key": "SecurityProfile", "value": "1"})


def test_api_starts_and_shows_the_upgrade(api_client: Any) -> None:
    cp = charger("2.0.1")
    priority_known(cp, "1,3")
    admin = api_client("admin")
    cid = cp.charge_point_id
    refused = admin.post(f"/api/v1/credentials/{cid}/security-profile-upgrade/", {"security_profile": 3}, format="json")
    assert refused.status_code == 400 and "certificate" in str(refused.json())
    bad = admin.post(f"/api/v1/credentials/{cid}/security-profile-upgrade/", {"security_profile": 7}, format="json")
    assert bad.status_code == 400 and "security_profile" in bad.json()
    no_url = admin.post(f"/api/v1/credentials/{cid}/security-profile-upgrade/", {"security_profile": 2}, format="json")
    assert no_url.status_code == 400 and "csms_url" in no_url.json()
    started = admin.post(
        f"/api/v1/credentials/{cid}/security-profile-upgrade/",
        {"security_profile": 2, "csms_url": URL},
        format="json",
    )
    assert started.status_code == 202, started.content
    body = started.json()
    assert (body["status"], body["from_profile"], body["to_profile"]) == ("running", 1, 2)
    assert body["planned_steps"] == ["SetNetworkProfile", "SetVariables", "Reset"]
    assert [(s["action"], s["status"], s["command_status"]) for s in body["steps"]] == [
        ("SetNetworkProfile", "queued", "queued")
    ]
    assert Command.objects.get(charge_point=cp).request["configurationSlot"] == 2  # the first free slot
    listed = admin.get(f"/api/v1/credentials/{cid}/security-profile-upgrades/")
    assert [u["id"] for u in listed.json()] == [body["id"]]
    operator = api_client("operator")
    assert operator.post(f"/api/v1/credentials/{cid}/security-profile-upgrade/", {}, format="json").status_code == 403


def test_the_charger_page_shows_the_upgrade() -> None:
    from dashboard.panels import charger_panels

    cp = charger("1.6")
    started = upgrade.upgrade_start(charge_point=cp, to_profile=2)
    answer(send(cp), {"status": "Rejected"})
    html = {p.element: p.html for p in charger_panels(cp, {})}["charger-credential"]
    assert f'id="profile-upgrade-{started.pk}"' in html and "ChangeConfiguration answered Rejected" in html
