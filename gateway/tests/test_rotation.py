"""Credential rotation (issue 17 item 4), at the service and API level, for 1.6, 2.0.1 and 2.1 (which runs the
2.0.1 block): the command queued, the pending rotation hashed, the answer deciding which password opens the
handshake, the secrets masked.

OCTT: TC_073_CSMS (1.6 Update Charge Point Password for HTTP Basic Authentication), TC_A_09_CSMS (2.0.1
A01, Accepted), TC_A_10_CSMS (2.0.1 A01, Rejected). The same rule through our gateway with a real client:
test_rotation_e2e.py.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from certificates.tests.helpers import answer, send
from chargers.commands import CommandError, command_enqueue, commands_expire
from chargers.models import ChargePoint, Command, ConfigurationKey, DeviceVariable
from gateway import rotation, services
from gateway.models import ChargerCredential, CredentialRotation
from mqtt_bridge.frames import Frame, Kind, utcnow
from mqtt_bridge.models import MessageLog
from mqtt_bridge.processing import command_calls_log, results_handle

pytestmark = pytest.mark.django_db
OLD = "old-password-0000001"
NEW = "new-Password:0000002"


@pytest.fixture(params=["1.6", "2.0.1", "2.1"])
def charger(request: pytest.FixtureRequest) -> ChargePoint:
    cp = ChargePoint.objects.create(
        charge_point_id=f"ROT-{request.param}", ocpp_version=request.param, registration_status="Accepted", online=True
    )
    services.credential_set_password(charge_point_id=cp.charge_point_id, password=OLD)
    return cp


def admitted(cid: str, password: str) -> bool:
    attempt = services.HandshakeAttempt(charge_point_id=cid, username=cid, password=password, address="10.9.0.1")
    decision = services.handshake_authenticate(attempt=attempt)
    return decision.allowed


def result(charger: ChargePoint, status: str) -> dict[str, Any]:
    """The charger's answer to a password change, in its version's spelling."""
    if charger.ocpp_version == "1.6":
        return {"status": status}
    return {
        "setVariableResult": [
            {
                "attributeStatus": status,
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
            }
        ]
    }


def sent_password(command: Command) -> str | None:
    spelling = rotation.SPELLINGS[command.charge_point.ocpp_version]
    return spelling.password_of(command.request)


def start(charger: ChargePoint, password: str | None = NEW) -> tuple[CredentialRotation, Command]:
    started = rotation.rotation_start(charge_point=charger, password=password, requested_by="test")
    command = send(charger)
    assert command.pk == started.command_id
    # The bridge logs the Call it sends: the plain text is in the log until the answer.
    command_calls_log(
        [
            Frame(
                charge_point_id=charger.charge_point_id,
                kind=Kind.CALL,
                message_id=command.message_id,
                action=command.action,
                payload=command.request,
                ocpp_version=charger.ocpp_version,
            )
        ]
    )
    return started, command


def assert_masked(command: Command) -> None:
    command.refresh_from_db()
    assert sent_password(command) == rotation.SECRET_MASK
    logged = MessageLog.objects.get(message_id=command.message_id, direction="out")
    assert NEW not in str(logged.payload) and rotation.SECRET_MASK in str(logged.payload)
    assert NEW not in str(ConfigurationKey.objects.filter(charge_point=command.charge_point).values_list("value"))
    assert NEW not in str(DeviceVariable.objects.filter(charge_point=command.charge_point).values_list("value"))


@pytest.mark.parametrize("status", ["Accepted", "RebootRequired"])
def test_TC_073_CSMS_TC_A_09_CSMS_an_accepted_password_is_the_only_valid_one(charger: ChargePoint, status: str) -> None:
    started, command = start(charger)
    # What the charger is sent: its version's command, the password in clear (it must learn it).
    if charger.ocpp_version == "1.6":
        assert (command.action, command.request) == ("ChangeConfiguration", {"key": "AuthorizationKey", "value": NEW})
    else:
        assert command.action == "SetVariables"
        assert command.request["setVariableData"][0]["component"] == {"name": "SecurityCtrlr"}
        assert command.request["setVariableData"][0]["attributeValue"] == NEW
    assert started.status == "pending" and rotation.rotation_password_matches(rotation=started, password=NEW)
    assert NEW not in started.password_hash
    # Until the answer the old password is the valid one, the new one is not yet.
    assert admitted(charger.charge_point_id, OLD) and not admitted(charger.charge_point_id, NEW)

    answer(command, result(charger, status))

    started.refresh_from_db()
    assert started.status == "accepted" and started.reason == status
    assert admitted(charger.charge_point_id, NEW)
    assert not admitted(charger.charge_point_id, OLD)
    assert_masked(command)


@pytest.mark.parametrize("status", ["Rejected", "NotSupported"])
def test_TC_A_10_CSMS_a_refused_password_leaves_the_old_one_valid(charger: ChargePoint, status: str) -> None:
    if charger.ocpp_version != "1.6" and status == "NotSupported":
        status = "UnknownVariable"  # 2.0.1 and 2.1 spell a station without the variable so
    started, command = start(charger)
    answer(command, result(charger, status))
    started.refresh_from_db()
    assert started.status == "failed" and status in started.reason
    assert admitted(charger.charge_point_id, OLD)
    assert not admitted(charger.charge_point_id, NEW)
    assert_masked(command)


def test_a_call_error_leaves_the_old_password_valid(charger: ChargePoint) -> None:
    started, command = start(charger)
    results_handle(
        [
            Frame(
                charge_point_id=charger.charge_point_id,
                kind=Kind.ERROR,
                message_id=command.message_id,
                error_code="InternalError",
                error_description="flash full",
                ocpp_version=charger.ocpp_version,
                received_at=utcnow(),
            )
        ]
    )
    assert CredentialRotation.objects.get(pk=started.pk).status == "pending"  # no effect runs for a CallError
    rotation.rotations_settle(charge_point=charger)
    started.refresh_from_db()
    assert started.status == "failed" and "CallError" in started.reason and "InternalError" in started.reason
    assert admitted(charger.charge_point_id, OLD) and not admitted(charger.charge_point_id, NEW)
    assert_masked(command)


def test_no_answer_in_time_leaves_the_old_password_valid(charger: ChargePoint) -> None:
    started, command = start(charger)
    commands_expire(now=timezone.now() + timedelta(seconds=settings.CSMS_COMMAND_TIMEOUT + 1))
    rotation.rotations_settle(charge_point=charger)
    started.refresh_from_db()
    assert started.status == "failed" and "did not answer in time" in started.reason
    assert admitted(charger.charge_point_id, OLD)
    assert_masked(command)


def test_a_generated_password_is_within_ocpp_bounds(charger: ChargePoint) -> None:
    started, command = start(charger, password=None)
    password = sent_password(command)
    assert password is not None and len(password) == rotation.GENERATED_LENGTH
    assert rotation.rotation_password_problem(password) is None
    assert rotation.rotation_password_matches(rotation=started, password=password)


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "16 to 40 characters"), ("x" * 41, "16 to 40 characters"), ("spaces are not ok 123", "not ' '")],
)
def test_a_password_out_of_bounds_is_refused_with_the_reason(charger: ChargePoint, password: str, reason: str) -> None:
    with pytest.raises(CommandError, match=reason):
        rotation.rotation_start(charge_point=charger, password=password)
    assert not Command.objects.filter(charge_point=charger).exists()
    assert not CredentialRotation.objects.exists()


def test_one_rotation_at_a_time_and_not_without_a_password_profile(charger: ChargePoint) -> None:
    start(charger)
    with pytest.raises(CommandError, match="waiting for its answer"):
        rotation.rotation_start(charge_point=charger, password="another-password-003")
    ChargerCredential.objects.filter(charge_point_id=charger.charge_point_id).update(security_profile=3)
    CredentialRotation.objects.all().delete()
    with pytest.raises(CommandError, match="without a password"):
        rotation.rotation_start(charge_point=charger)
    ChargerCredential.objects.all().delete()
    with pytest.raises(CommandError, match="no credential"):
        rotation.rotation_start(charge_point=charger)


def test_a_password_sent_as_a_plain_command_is_a_rotation_too(charger: ChargePoint) -> None:
    """Through /api/v1/commands/ the charger would otherwise take a password its credential does not know."""
    spelling = rotation.SPELLINGS[charger.ocpp_version]
    command = command_enqueue(charge_point=charger, action=spelling.action, payload=spelling.payload(NEW))
    assert CredentialRotation.objects.get(command=command).status == "pending"
    with pytest.raises(CommandError, match="16 to 40"):
        command_enqueue(charge_point=charger, action=spelling.action, payload=spelling.payload("tiny"))
    answer(send(charger), result(charger, "Accepted"))
    assert admitted(charger.charge_point_id, NEW) and not admitted(charger.charge_point_id, OLD)


def test_api_rotate_and_list(charger: ChargePoint, api_client: Any) -> None:
    admin_api: APIClient = api_client("admin")
    cid = charger.charge_point_id
    response = admin_api.post(f"/api/v1/credentials/{cid}/rotate/", {"password": NEW}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["command_status"] == "queued" and NEW not in str(body)
    again = admin_api.post(f"/api/v1/credentials/{cid}/rotate/", {}, format="json")
    assert again.status_code == 400 and "waiting for its answer" in str(again.json())
    bad = admin_api.post("/api/v1/credentials/nobody-here/rotate/", {}, format="json")
    assert bad.status_code == 404
    short = admin_api.post(f"/api/v1/credentials/{cid}/rotate/", {"password": "short"}, format="json")
    assert short.status_code == 400 and "16 to 40" in str(short.json())
    assert api_client("operator").post(f"/api/v1/credentials/{cid}/rotate/", {}, format="json").status_code == 403
    answer(send(charger), result(charger, "Accepted"))
    listed = admin_api.get(f"/api/v1/credentials/{cid}/rotations/")
    assert listed.status_code == 200
    assert [(r["status"], r["command_status"]) for r in listed.json()] == [("accepted", "accepted")]


def test_the_charger_page_shows_the_rotation(charger: ChargePoint) -> None:
    from dashboard.panels import charger_panels

    started, command = start(charger)
    answer(command, result(charger, "Rejected"))
    html = {p.element: p.html for p in charger_panels(charger, {})}["charger-credential"]
    assert f'id="rotation-{started.pk}"' in html and "failed" in html and "Rejected" in html


def test_a_call_logged_after_its_answer_is_masked_at_the_next_settle(charger: ChargePoint) -> None:
    """The bridge logs a Call after publishing it: an answer applied first finds nothing to mask yet."""
    rotation.rotation_start(charge_point=charger, password=NEW)
    command = send(charger)
    request = dict(command.request)
    answer(command, result(charger, "Accepted"))
    late = Frame(
        charge_point_id=charger.charge_point_id,
        kind=Kind.CALL,
        message_id=command.message_id,
        action=command.action,
        payload=request,
        ocpp_version=charger.ocpp_version,
    )
    command_calls_log([late])
    assert NEW in str(MessageLog.objects.get(message_id=command.message_id, direction="out").payload)
    rotation.rotations_settle(charge_point=charger)
    assert_masked(command)


@pytest.mark.parametrize(("status", "changed"), [("Accepted", True), ("Rejected", False)])
def test_an_accepted_rotation_tells_the_gateways_login_caches(
    charger: ChargePoint, status: str, changed: bool, django_capture_on_commit_callbacks: Any
) -> None:
    """Our gateway caches admitted logins; the credential's generation says when a cached one is stale."""
    cid = charger.charge_point_id
    before = services.credential_generation(charge_point_id=cid)
    _, command = start(charger)
    assert services.credential_generation(charge_point_id=cid) == before  # queued: nothing changed yet
    with django_capture_on_commit_callbacks(execute=True):
        answer(command, result(charger, status))
    assert (services.credential_generation(charge_point_id=cid) != before) is changed


@pytest.mark.django_db(transaction=True)
def test_two_rotations_started_at_once_make_one() -> None:
    """Both pass the check; the pending-rotation constraint lets one queue its command, the other is refused."""
    cp = ChargePoint.objects.create(
        charge_point_id="ROT-RACE", ocpp_version="1.6", registration_status="Accepted", online=True
    )
    services.credential_set_password(charge_point_id=cp.charge_point_id, password=OLD)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def start_one(password: str) -> None:
        try:
            barrier.wait(5)
            rotation.rotation_start(charge_point=cp, password=password)
            outcomes.append("started")
        except CommandError as exc:
            outcomes.append(exc.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start_one, args=(p,)) for p in (NEW, "another-password-0003")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(outcomes) == ["a password rotation of this charger is waiting for its answer", "started"]
    assert CredentialRotation.objects.filter(charge_point=cp).count() == 1
    assert Command.objects.filter(charge_point=cp).count() == 1  # the loser's command rolled back with it


@pytest.mark.django_db
def test_a_1_6_charger_reporting_its_authorization_key_has_it_kept_nowhere() -> None:
    charger = ChargePoint.objects.create(
        charge_point_id="CP-LEAK", ocpp_version="1.6", registration_status="Accepted", online=True
    )
    command_enqueue(charge_point=charger, action="GetConfiguration", payload={})
    reported = [
        {"key": "AuthorizationKey", "readonly": False, "value": "a-leaked-password-1234"},
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
    ]
    command = answer(send(charger), {"configurationKey": reported})
    assert command.status == Command.Status.ACCEPTED
    keys = dict(ConfigurationKey.objects.filter(charge_point=charger).values_list("key", "value"))
    assert keys == {"AuthorizationKey": None, "HeartbeatInterval": "300"}
    assert "a-leaked-password-1234" not in str(command.response)
