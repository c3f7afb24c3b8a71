"""Lockout of failed charger logins (issue 17 item 6): per charge point id and per client address, in the
real Redis, through our gateway's real handshakes and /gateway/auth; exponential backoff; a success
clears the counters; while locked no password hash is computed; refusals become security events, one per
charger and reason per interval; without Redis the lockout fails open.

Chargers connect from loopback addresses of their own (127.0.0.x) so that each test's address counters
are its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import hashers
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chargers.models import ChargePoint, ChargerEvent
from gateway import lockout, services
from gateway.models import SecurityProfile
from gateway.tests.conftest import OCPP16, GatewayThread, new_cid

PASSWORD = "lockout-password-0001"


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture
def address() -> Iterator[str]:
    """A loopback address of this test's own, cleared before and after."""
    value = f"127.0.{uuid.uuid4().int % 250 + 2}.{uuid.uuid4().int % 250 + 2}"
    lockout.lockout_reset(address=value)
    yield value
    lockout.lockout_reset(address=value)


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash checked by the gateway's services (the real check still runs)."""
    checked: list[str] = []
    real = hashers.check_password

    def counting(password: str | None, encoded: str, *args: Any, **kwargs: Any) -> bool:
        checked.append(encoded)
        return real(password, encoded, *args, **kwargs)

    monkeypatch.setattr(services, "check_password", counting)
    return checked


async def handshake(gw: GatewayThread, cid: str, headers: dict[str, str], source: str) -> tuple[int, str]:
    """(101, "") or the refusal's (status, Retry-After)."""
    try:
        async with connect(
            f"{gw.url}/{cid}", subprotocols=[OCPP16], additional_headers=headers, local_addr=(source, 0)
        ):
            return 101, ""
    except InvalidStatus as exc:
        return exc.response.status_code, exc.response.headers.get("Retry-After", "")


def registered(cid: str, profile: int = SecurityProfile.BASIC) -> None:
    ChargePoint.objects.create(charge_point_id=cid)
    services.credential_set_password(charge_point_id=cid, password=PASSWORD, security_profile=profile)
    lockout.lockout_reset(charge_point_id=cid)


def events(cid: str) -> list[tuple[str, str]]:
    rows = ChargerEvent.objects.filter(charge_point__charge_point_id=cid, kind=ChargerEvent.Kind.SECURITY)
    return sorted((event.status, event.detail["reason"]) for event in rows)


@pytest.mark.django_db(transaction=True)
def test_a_charge_point_id_is_locked_after_the_threshold_even_for_the_right_password(
    start_gateway: Callable[..., GatewayThread], address: str, hash_checks: list[str]
) -> None:
    gw = start_gateway(lockout_policy=lockout.Policy(threshold=3, address_threshold=0, base_seconds=60))
    cid = new_cid("lk")
    registered(cid)

    async def scenario() -> list[tuple[int, str]]:
        wrong = [await handshake(gw, cid, basic(cid, f"wrong-password-000{n}"), address) for n in range(3)]
        return [*wrong, await handshake(gw, cid, basic(cid, PASSWORD), address)]

    results = asyncio.run(scenario())
    assert [status for status, _ in results] == [401, 401, 401, 429]
    assert 50 <= int(results[-1][1]) <= 60  # Retry-After: the lock the third failure set
    assert len(hash_checks) == 3  # the attempt during the lock computed no hash
    assert events(cid) == [("FailedLogin", "wrong_password"), ("LoginLockedOut", "locked_out")]
    locked = ChargerEvent.objects.get(charge_point__charge_point_id=cid, status="FailedLogin")
    assert locked.detail["address"] == address and locked.detail["gateway"] == "csms-gateway"
    assert gw.gateway.counters["handshake_locked_out"] == 1


@pytest.mark.django_db(transaction=True)
def test_an_address_is_locked_across_charge_point_ids(
    start_gateway: Callable[..., GatewayThread], address: str, hash_checks: list[str]
) -> None:
    gw = start_gateway(lockout_policy=lockout.Policy(threshold=0, address_threshold=3, base_seconds=60))
    good = new_cid("lk")
    registered(good)

    async def scenario() -> list[int]:
        sprayed = [(await handshake(gw, new_cid("lk"), basic("x", PASSWORD), address))[0] for _ in range(3)]
        return [
            *sprayed,
            (await handshake(gw, good, basic(good, PASSWORD), address))[0],  # locked: this address
            (await handshake(gw, good, basic(good, PASSWORD), "127.0.0.1"))[0],  # another address: fine
        ]

    assert asyncio.run(scenario()) == [401, 401, 401, 429, 101]
    # the username rule refuses the sprayed ids before any hash; the good login from 127.0.0.1 hashed once
    assert len(hash_checks) == 1


@pytest.mark.django_db(transaction=True)
def test_a_successful_login_resets_the_counters(start_gateway: Callable[..., GatewayThread], address: str) -> None:
    gw = start_gateway(lockout_policy=lockout.Policy(threshold=3, address_threshold=3, base_seconds=60))
    cid = new_cid("lk")
    registered(cid)

    async def scenario() -> list[int]:
        statuses = []
        for password in ["wrong-password-0001", "wrong-password-0002", PASSWORD] * 2 + [PASSWORD]:
            statuses.append((await handshake(gw, cid, basic(cid, password), address))[0])
        return statuses

    # five failures in all, never three in a row: never locked
    assert asyncio.run(scenario()) == [401, 401, 101, 401, 401, 101, 101]


def test_each_failure_past_the_threshold_doubles_the_lock_up_to_the_maximum() -> None:
    policy = lockout.Policy(threshold=2, address_threshold=0, base_seconds=10, max_seconds=50)
    assert [policy.lock_seconds(n, policy.threshold) for n in range(1, 7)] == [0, 10, 20, 40, 50, 50]
    cid = new_cid("lk")
    lockout.lockout_reset(charge_point_id=cid)
    seen = []
    for _ in range(5):
        failure = lockout.lockout_failure_record(charge_point_id=cid, address="", policy=policy)
        remaining = lockout.lockout_remaining(charge_point_id=cid, address="", policy=policy).charge_point
        seen.append((failure.charge_point_failures, failure.locked_seconds, round(remaining)))
    assert seen == [(1, 0, 0), (2, 10, 10), (3, 20, 20), (4, 40, 40), (5, 50, 50)]
    lockout.lockout_reset(charge_point_id=cid)
    assert lockout.lockout_remaining(charge_point_id=cid, address="", policy=policy).longest == 0


@pytest.mark.django_db
def test_a_certificate_verified_for_the_id_is_not_held_back_by_the_ids_lock(address: str) -> None:
    """Anyone can lock an id by failing as it; a profile 3 charger's certificate is out of their reach."""
    policy = lockout.Policy(threshold=1, address_threshold=0, base_seconds=60)
    cid = new_cid("lk")
    registered(cid, SecurityProfile.TLS_CLIENT_CERT)
    attacker = services.HandshakeAttempt(charge_point_id=cid, username=cid, password="x" * 16, address="192.0.2.7")
    assert services.handshake_authenticate(attempt=attacker, policy=policy).reason == services.TLS_REQUIRED
    assert lockout.lockout_remaining(charge_point_id=cid, address="", policy=policy).charge_point > 0
    charger = services.HandshakeAttempt(charge_point_id=cid, address=address, tls=True, certificate_cn=cid)
    assert services.handshake_authenticate(attempt=charger, policy=policy).allowed
    profile_1 = new_cid("lk")
    registered(profile_1)
    services.handshake_authenticate(
        attempt=services.HandshakeAttempt(charge_point_id=profile_1, username=profile_1, password="y" * 16),
        policy=policy,
    )
    with_password = services.HandshakeAttempt(
        charge_point_id=profile_1, username=profile_1, password=PASSWORD, address=address
    )
    assert services.handshake_authenticate(attempt=with_password, policy=policy).reason == services.LOCKED_OUT


@pytest.mark.django_db
def test_security_events_are_throttled_per_charger_and_reason(settings: Any, address: str) -> None:
    settings.CSMS_AUTH_LOCKOUT_THRESHOLD = 0
    settings.CSMS_AUTH_LOCKOUT_ADDRESS_THRESHOLD = 0
    cid = new_cid("lk")
    registered(cid)
    for n in range(10):
        attempt = services.HandshakeAttempt(
            charge_point_id=cid, username=cid, password=f"wrong-password-{n:04}", address=address
        )
        assert not services.handshake_authenticate(attempt=attempt).allowed
    services.handshake_authenticate(attempt=services.HandshakeAttempt(charge_point_id=cid, address=address))
    assert events(cid) == [("FailedLogin", "missing_credentials"), ("FailedLogin", "wrong_password")]
    settings.CSMS_AUTH_EVENT_INTERVAL_SECONDS = 0  # no throttle: every refusal is a row
    for _ in range(3):
        services.handshake_authenticate(attempt=services.HandshakeAttempt(charge_point_id=cid, address=address))
    assert events(cid).count(("FailedLogin", "missing_credentials")) == 4


@pytest.mark.django_db
def test_gateway_auth_locks_out_by_peerhost_and_by_id_without_hashing(
    settings: Any, address: str, hash_checks: list[str]
) -> None:
    settings.CSMS_AUTH_LOCKOUT_THRESHOLD = 2
    settings.CSMS_AUTH_LOCKOUT_ADDRESS_THRESHOLD = 3
    cid, other = new_cid("lk"), new_cid("lk")
    registered(cid)
    registered(other)
    client = Client()

    def ask(charge_point_id: str, password: str, peerhost: str) -> str:
        body = {"clientid": charge_point_id, "username": charge_point_id, "password": password, "peerhost": peerhost}
        response = client.post("/gateway/auth", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200
        return str(response.json()["result"])

    assert [ask(cid, "wrong-password-0001", address) for _ in range(2)] == ["deny", "deny"]
    assert ask(cid, PASSWORD, "198.51.100.20") == "deny"  # the id is locked, whatever the address
    assert ask(other, "wrong-password-0002", address) == "deny"  # the address's third failure
    assert ask(other, PASSWORD, address) == "deny"  # the address is locked
    assert ask(other, PASSWORD, "198.51.100.21") == "allow"
    assert len(hash_checks) == 4  # two for cid, one failure and one success for other; none while locked
    assert ("LoginLockedOut", "locked_out") in events(cid)
    lockout.lockout_reset(charge_point_id=cid)


@pytest.mark.django_db
def test_without_redis_the_lockout_fails_open(settings: Any, address: str) -> None:
    cid = new_cid("lk")
    registered(cid)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.CSMS_AUTH_LOCKOUT_THRESHOLD = 1
    wrong = services.HandshakeAttempt(charge_point_id=cid, username=cid, password="wrong-password-0001")
    assert services.handshake_authenticate(attempt=wrong).reason == services.WRONG_PASSWORD
    right = services.HandshakeAttempt(charge_point_id=cid, username=cid, password=PASSWORD, address=address)
    assert services.handshake_authenticate(attempt=right).allowed
    assert events(cid) == [("FailedLogin", "wrong_password")]  # recorded, unthrottled
