"""Charger credentials: every write and every check goes through these functions.

The same ``handshake_authenticate`` answers our gateway's handshakes and EMQX's HTTP authentication
requests (``POST /gateway/auth``), so one place decides, for both gateways, who may connect: the
charger's security profile, the username rule, the password, the client certificate's CN, and the
lockout of repeated failures. Refusals of known chargers are recorded as security events.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import logging
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, make_password
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_raise
from backoffice.metrics import get_redis
from chargers.models import ChargePoint, ChargerEvent
from chargers.services import charger_event_record
from gateway import lockout, upgrade
from gateway.models import ChargerCredential, SecurityProfile

logger = logging.getLogger(__name__)

_CID_RE = re.compile(r"[^/+#]{1,48}\Z")
# OCPP's bounds for an AuthorizationKey (1.6 security extension) and SecurityCtrlr.BasicAuthPassword (2.0.1).
PASSWORD_MIN_LENGTH = 16
PASSWORD_MAX_LENGTH = 40
# A password longer than this is refused without hashing it (a stored one is at most 40 since issue 17;
# older ones were not bounded, so the cap is generous).
PASSWORD_CHECK_MAX_LENGTH = 1024
EVENT_PREFIX = "csms:authevent:"
GENERATION_PREFIX = "csms:credential:generation:"


@dataclasses.dataclass(frozen=True)
class Reason:
    """Why a login was refused: its HTTP status at our gateway and the status of its security event."""

    slug: str
    http_status: int
    event_status: str


LOCKED_OUT = Reason("locked_out", 429, "LoginLockedOut")
MISSING_CREDENTIALS = Reason("missing_credentials", 401, "FailedLogin")
MALFORMED_AUTHORIZATION = Reason("malformed_authorization", 401, "FailedLogin")
USERNAME_MISMATCH = Reason("username_mismatch", 401, "FailedLogin")
WRONG_PASSWORD = Reason("wrong_password", 401, "FailedLogin")
UNKNOWN_CHARGE_POINT = Reason("unknown_charge_point", 401, "FailedLogin")
CREDENTIAL_DISABLED = Reason("credential_disabled", 401, "FailedLogin")
TLS_REQUIRED = Reason("tls_required", 401, "SecurityProfileViolation")
CLIENT_CERTIFICATE_REQUIRED = Reason("client_certificate_required", 401, "SecurityProfileViolation")
# A certificate we verified, for another charger: authenticated, and not as this one.
CERTIFICATE_CN_MISMATCH = Reason("certificate_cn_mismatch", 403, "InvalidChargePointCertificate")
# A certificate on a CRL, or one that could not be checked against the CRLs (only a gateway that checks
# none itself, EMQX on wss, asks us: ours refuses a revoked certificate in the TLS handshake).
CERTIFICATE_REVOKED = Reason("certificate_revoked", 401, "InvalidChargePointCertificate")
# Not the charger's fault, and not recorded: the check itself failed (the database, the auth endpoint).
CHECK_FAILED = Reason("check_failed", 503, "")
# /gateway/auth (or another endpoint) said deny; it recorded why.
DENIED = Reason("denied", 401, "")


@dataclasses.dataclass(frozen=True)
class HandshakeAttempt:
    """What a charger presented when connecting, as its gateway saw it.

    ``certificate_cn`` is the CN of a client certificate the gateway verified (None: no certificate),
    ``certificate_revoked`` that certificate failed the CRL check made for the gateway;
    ``authorization_malformed``: an Authorization header was sent but was no readable Basic credential.
    ``gateway`` names who asked (our gateway, EMQX through /gateway/auth), for the security events.
    """

    charge_point_id: str
    username: str | None = None
    password: str | None = None
    address: str = ""
    tls: bool = False
    certificate_cn: str | None = None
    certificate_revoked: bool = False
    authorization_malformed: bool = False
    gateway: str = "csms-gateway"


@dataclasses.dataclass(frozen=True)
class AuthDecision:
    """The answer to a handshake: admitted, or refused with a reason (and for how long, when locked)."""

    allowed: bool
    reason: Reason | None = None
    security_profile: int | None = None
    retry_after: int = 0
    # How long the client's address is locked (a gateway may then refuse it before even a TLS handshake).
    address_locked_seconds: float = 0.0

    @property
    def http_status(self) -> int:
        return 101 if self.allowed or self.reason is None else self.reason.http_status


def password_hash_make(password: str) -> str:
    """The stored form of a charger password: PBKDF2-SHA256 as Django's default, at
    CSMS_GATEWAY_PASSWORD_ITERATIONS. The count is written into the hash, so Django's own PBKDF2 hasher
    verifies it (no PASSWORD_HASHERS change), and a hash made with another count keeps working."""
    hasher = PBKDF2PasswordHasher()
    hasher.iterations = int(settings.CSMS_GATEWAY_PASSWORD_ITERATIONS)
    return make_password(password, hasher=hasher)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the charge point id is unknown, so that "unknown id" and "wrong password"
    take the same time and an attacker cannot enumerate charger ids by timing. Made on first use."""
    return password_hash_make("dummy-password-for-constant-time-checks")


def charge_point_id_is_valid(charge_point_id: str) -> bool:
    """True for 1..48 characters with none of ``/ + #`` (what an MQTT topic level can carry)."""
    return bool(_CID_RE.match(charge_point_id))


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be a charger's password (OCPP: 16 to 40 characters), None when it can."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        return f"the password must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, not {len(password)}"
    return None


def credential_set_password(
    *,
    charge_point_id: str,
    password: str | None = None,
    enabled: bool = True,
    note: str | None = None,
    security_profile: int | None = None,
) -> tuple[ChargerCredential, str]:
    """Create or update a charger's credential; returns it and the clear-text password.

    With no password a random one (24 URL-safe characters) is generated. A given one must be 16 to 40
    characters (ValueError otherwise). ``security_profile`` None keeps the current one (1 for a new
    credential). The clear text is never stored.
    """
    if not charge_point_id_is_valid(charge_point_id):
        raise ValueError(f"invalid charge point id {charge_point_id!r}: 1..48 characters, none of / + #")
    if password is None:
        password = secrets.token_urlsafe(18)
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    if security_profile is not None and security_profile not in SecurityProfile.values:
        raise ValueError(f"security profile {security_profile!r} is not one of {SecurityProfile.values}")
    defaults: dict[str, object] = {"password_hash": password_hash_make(password), "enabled": enabled}
    if note is not None:
        defaults["note"] = note
    if security_profile is not None:
        defaults["security_profile"] = security_profile
    with transaction.atomic():
        credential, _ = ChargerCredential.objects.update_or_create(charge_point_id=charge_point_id, defaults=defaults)
        credential_changed(charge_point_id=charge_point_id)
    return credential, password


def credential_set_enabled(*, charge_point_id: str, enabled: bool) -> bool:
    """Enable or disable a charger's credential; False when there is none."""
    updated = ChargerCredential.objects.filter(charge_point_id=charge_point_id).update(enabled=enabled)
    credential_changed(charge_point_id=charge_point_id)
    return bool(updated)


def credential_set_security_profile(*, charge_point_id: str, security_profile: int) -> bool:
    """Set the profile a charger must connect with (takes effect at its next handshake); False: no credential."""
    if security_profile not in SecurityProfile.values:
        raise ValueError(f"security profile {security_profile!r} is not one of {SecurityProfile.values}")
    updated = ChargerCredential.objects.filter(charge_point_id=charge_point_id).update(
        security_profile=security_profile, updated_at=timezone.now()
    )
    credential_changed(charge_point_id=charge_point_id)
    return bool(updated)


def credential_changed(*, charge_point_id: str) -> None:
    """Mark the charger's credential changed (a new password, profile or state), once the transaction commits.

    A gateway caching admitted logins (ours: ``CSMS_GATEWAY_AUTH_CACHE_SECONDS``) compares the generation it
    cached a login under with ``credential_generation`` and checks again when they differ, so a rotated
    password or a raised profile is not let in from the cache. Without Redis nothing is marked (logged).
    """

    def bump() -> None:
        try:
            get_redis().incr(f"{GENERATION_PREFIX}{charge_point_id}")
        except redis.RedisError as exc:
            logger.warning("could not mark the credential of %s changed: %s", charge_point_id, exc)

    transaction.on_commit(bump)


def credential_generation(*, charge_point_id: str) -> str:
    """The charger's credential generation ("0" before any change; "" when Redis cannot say: check again)."""
    try:
        value = get_redis().get(f"{GENERATION_PREFIX}{charge_point_id}")
    except redis.RedisError:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value or "0")


def credential_check(charge_point_id: str, password: str) -> bool:
    """True when the charger has an enabled credential and the password matches it (no profile, no lockout).

    Deliberately slow (the password hasher's work factor); ``handshake_authenticate`` is what gateways call.
    """
    credential = (
        ChargerCredential.objects.filter(charge_point_id=charge_point_id, enabled=True).only("password_hash").first()
    )
    if credential is None or len(password) > PASSWORD_CHECK_MAX_LENGTH:
        check_password(password[:PASSWORD_CHECK_MAX_LENGTH], _dummy_hash())
        return False
    return check_password(password, credential.password_hash)


def handshake_authenticate(*, attempt: HandshakeAttempt, policy: lockout.Policy | None = None) -> AuthDecision:
    """Decide whether a charger may connect, by its security profile; count and record a refusal.

    In this order, so that the cheap refusals never reach the password hash: a locked id or address
    (refused without looking further: the hash must not be a CPU amplification vector), a verified
    certificate for another id, the credential and its profile (0: admitted; 3: a certificate whose CN is
    the id, no password; 2: TLS, then as 1), the username (must be the charge point id), the password.
    """
    policy = policy or lockout.Policy.from_settings()
    cid = attempt.charge_point_id
    # A certificate verified for this id is out of an attacker's reach: the id's lock (which anyone can
    # set by failing as that id) does not hold it back, only its address's does.
    certified = attempt.tls and attempt.certificate_cn == cid and not attempt.certificate_revoked
    remaining = lockout.lockout_remaining(
        charge_point_id="" if certified else cid, address=attempt.address, policy=policy
    )
    if remaining.longest > 0:
        return _refused(
            attempt,
            LOCKED_OUT,
            None,
            policy,
            retry_after=max(1, round(remaining.longest)),
            address_locked=remaining.address,
        )
    if attempt.certificate_revoked:
        return _refused(attempt, CERTIFICATE_REVOKED, None, policy)
    if attempt.certificate_cn is not None and attempt.certificate_cn != cid:
        return _refused(attempt, CERTIFICATE_CN_MISMATCH, None, policy)
    credential = (
        ChargerCredential.objects.filter(charge_point_id=cid)
        .only("password_hash", "enabled", "security_profile", "upgrade_to_profile")
        .first()
    )
    profile = credential.security_profile if credential is not None and credential.enabled else None
    # A security profile upgrade running (gateway.upgrade): the charger may come at the new profile, and
    # its first handshake there completes the upgrade.
    target = credential.upgrade_to_profile if profile is not None and credential is not None else None
    if target == SecurityProfile.TLS_CLIENT_CERT and certified:
        return _upgraded(attempt, target)
    if profile == SecurityProfile.NONE:
        return _admitted(attempt, profile)
    if profile == SecurityProfile.TLS_CLIENT_CERT:
        if certified:
            return _admitted(attempt, profile)
        return _refused(attempt, CLIENT_CERTIFICATE_REQUIRED if attempt.tls else TLS_REQUIRED, profile, policy)
    if profile == SecurityProfile.TLS_BASIC and not attempt.tls:
        return _refused(attempt, TLS_REQUIRED, profile, policy)
    if attempt.username is None or attempt.password is None:
        reason = MALFORMED_AUTHORIZATION if attempt.authorization_malformed else MISSING_CREDENTIALS
        return _refused(attempt, reason, profile, policy)
    if attempt.username != cid:
        return _refused(attempt, USERNAME_MISMATCH, profile, policy)
    if credential is None or not credential.enabled:
        check_password(attempt.password[:PASSWORD_CHECK_MAX_LENGTH], _dummy_hash())
        return _refused(attempt, UNKNOWN_CHARGE_POINT if credential is None else CREDENTIAL_DISABLED, None, policy)
    if len(attempt.password) > PASSWORD_CHECK_MAX_LENGTH:
        check_password(attempt.password[:PASSWORD_CHECK_MAX_LENGTH], _dummy_hash())
        return _refused(attempt, WRONG_PASSWORD, profile, policy)
    if not check_password(attempt.password, credential.password_hash):
        return _refused(attempt, WRONG_PASSWORD, profile, policy)
    if target == SecurityProfile.TLS_BASIC and attempt.tls:
        return _upgraded(attempt, target)
    return _admitted(attempt, profile)


def backoffice_mqtt_login(*, username: str | None, password: str | None, address: str) -> bool | None:
    """The backoffice's own MQTT login at EMQX (MQTT_URL's username and password): True or False when
    ``username`` is that user, None when it is not (a charger's login, for ``handshake_authenticate``).

    Only the address is locked out: locking the username would let anyone shut the bridge out.
    """
    parts = urlsplit(settings.MQTT_URL)
    if not parts.username or not parts.password or username is None:
        return None
    if not hmac.compare_digest(username.encode(), unquote(parts.username).encode()):
        return None
    if lockout.lockout_remaining(charge_point_id="", address=address).address > 0:
        return False
    if password is not None and hmac.compare_digest(password.encode(), unquote(parts.password).encode()):
        lockout.lockout_reset(address=address)
        return True
    lockout.lockout_failure_record(charge_point_id="", address=address)
    logger.warning("login refused: the backoffice MQTT user from %s (wrong password)", address or "unknown address")
    return False


def _admitted(attempt: HandshakeAttempt, profile: int | None) -> AuthDecision:
    lockout.lockout_reset(charge_point_id=attempt.charge_point_id, address=attempt.address)
    return AuthDecision(allowed=True, security_profile=profile)


def _upgraded(attempt: HandshakeAttempt, profile: int) -> AuthDecision:
    if upgrade.upgrade_handshake_completed(charge_point_id=attempt.charge_point_id, profile=profile):
        credential_changed(charge_point_id=attempt.charge_point_id)
    return _admitted(attempt, profile)


def _refused(
    attempt: HandshakeAttempt,
    reason: Reason,
    profile: int | None,
    policy: lockout.Policy,
    *,
    retry_after: int = 0,
    address_locked: float = 0.0,
) -> AuthDecision:
    # Attempts during a lock are not counted: they change nothing, and the lock ends when it was due to.
    failures = 0
    if reason is not LOCKED_OUT:
        failure = lockout.lockout_failure_record(
            charge_point_id=attempt.charge_point_id, address=attempt.address, policy=policy
        )
        failures = failure.charge_point_failures
        retry_after = failure.locked_seconds
        address_locked = failure.address_locked_seconds
        if failure.locked_seconds or failure.address_locked_seconds:
            lockout_alert_raise(attempt=attempt, reason=reason, failure=failure)
    logger.warning(
        "login refused: %s from %s via %s (%s%s)",
        attempt.charge_point_id,
        attempt.address or "unknown address",
        attempt.gateway,
        reason.slug,
        f", locked for {retry_after} s" if retry_after else "",
    )
    security_event_record(
        charge_point_id=attempt.charge_point_id,
        reason=reason,
        detail={
            "source": "csms",
            "gateway": attempt.gateway,
            "reason": reason.slug,
            "address": attempt.address,
            "tls": attempt.tls,
            "security_profile": profile,
            "failures": failures,
            "locked_seconds": retry_after,
        },
    )
    return AuthDecision(
        allowed=False,
        reason=reason,
        security_profile=profile,
        retry_after=retry_after,
        address_locked_seconds=address_locked,
    )


def security_event_record(
    *, charge_point_id: str, reason: Reason, detail: dict[str, Any], now: datetime | None = None
) -> ChargerEvent | None:
    """Record a refused login of a known charger as a security event, at most one per charger and reason
    per CSMS_AUTH_EVENT_INTERVAL_SECONDS: a flood of attempts must not become a flood of rows.

    None when the charger is unknown (there is nothing to attach the event to) or the throttle held it back.
    """
    interval = int(settings.CSMS_AUTH_EVENT_INTERVAL_SECONDS)
    if interval > 0:
        try:
            fresh = get_redis().set(f"{EVENT_PREFIX}{charge_point_id}:{reason.slug}", "1", nx=True, ex=interval)
        except redis.RedisError:
            fresh = True  # no throttle without Redis: the lockout is not counting either
        if not fresh:
            return None
    charge_point = ChargePoint.objects.filter(charge_point_id=charge_point_id).first()
    if charge_point is None:
        return None
    return charger_event_record(
        charge_point=charge_point,
        kind=ChargerEvent.Kind.SECURITY,
        status=reason.event_status,
        detail=detail,
        now=now or timezone.now(),
    )


def lockout_alert_raise(*, attempt: HandshakeAttempt, reason: Reason, failure: lockout.Failure) -> None:
    """Repeated failed logins locked a charge point id or a client address: an operator alert (one per
    charger or address while unacknowledged, counting each lock). A failure to raise it is logged, never
    allowed to change the login's answer."""
    detail = {
        "reason": reason.slug,
        "address": attempt.address,
        "gateway": attempt.gateway,
        "failures": failure.charge_point_failures,
        "address_failures": failure.address_failures,
        "locked_seconds": failure.locked_seconds,
        "address_locked_seconds": failure.address_locked_seconds,
    }
    try:
        if failure.locked_seconds:
            charge_point = ChargePoint.objects.filter(charge_point_id=attempt.charge_point_id).first()
            alert_raise(
                kind="login_lockout",
                severity=Alert.Severity.CRITICAL,
                title=f"Repeated failed logins as {attempt.charge_point_id[:48]}: "
                f"locked for {failure.locked_seconds} s",
                charge_point=charge_point,
                subject=f"id:{attempt.charge_point_id}"[:64],
                detail=detail,
            )
        if failure.address_locked_seconds and attempt.address:
            alert_raise(
                kind="login_lockout_address",
                severity=Alert.Severity.CRITICAL,
                title=f"Repeated failed logins from {attempt.address}: locked for {failure.address_locked_seconds} s",
                subject=attempt.address[:64],
                detail=detail,
            )
    except Exception:
        logger.exception("could not raise the lockout alert of %s", attempt.charge_point_id)
