"""Lockout of failed charger logins, per charge point id and per client address, in Redis.

Our gateway's handshake and ``/gateway/auth`` (EMQX's) share these counters, so an attacker gains
nothing by switching gateways, and every process of a deployment sees the same lock. A lock is a key
with a time to live; the failure count outlives it (the window is extended past the lock), so that each
failure after the threshold doubles the next lock instead of starting over.

Redis being unreachable never refuses a charger: the lockout then counts nothing (fails open, logged
once a minute), and the password check still runs. Refusing every charger because a counter store is
down would be a worse outage than the attack it defends against.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import redis
from django.conf import settings

from backoffice.metrics import get_redis

logger = logging.getLogger(__name__)

PREFIX = "csms:lockout:"
_ERROR_LOG_INTERVAL = 60.0
_last_error_log = 0.0


@dataclasses.dataclass(frozen=True)
class Policy:
    """Thresholds and durations; ``from_settings`` reads CSMS_AUTH_LOCKOUT_*. A threshold of 0 is off."""

    threshold: int = 5
    address_threshold: int = 20
    window_seconds: int = 900
    base_seconds: int = 30
    max_seconds: int = 3600

    @classmethod
    def from_settings(cls) -> Policy:
        return cls(
            threshold=settings.CSMS_AUTH_LOCKOUT_THRESHOLD,
            address_threshold=settings.CSMS_AUTH_LOCKOUT_ADDRESS_THRESHOLD,
            window_seconds=settings.CSMS_AUTH_LOCKOUT_WINDOW_SECONDS,
            base_seconds=settings.CSMS_AUTH_LOCKOUT_BASE_SECONDS,
            max_seconds=settings.CSMS_AUTH_LOCKOUT_MAX_SECONDS,
        )

    def lock_seconds(self, failures: int, threshold: int) -> int:
        """How long ``failures`` failures lock for (0: not yet)."""
        if threshold <= 0 or failures < threshold:
            return 0
        return min(self.max_seconds, self.base_seconds * 2 ** min(failures - threshold, 30))


@dataclasses.dataclass(frozen=True)
class Failure:
    """What one more failure did: the counts within the window and the lock it set (0: none)."""

    charge_point_failures: int
    address_failures: int
    locked_seconds: int
    address_locked_seconds: int


def _subjects(charge_point_id: str, address: str, policy: Policy) -> list[tuple[str, int]]:
    subjects = []
    if charge_point_id and policy.threshold > 0:
        subjects.append((f"cid:{charge_point_id}", policy.threshold))
    if address and policy.address_threshold > 0:
        subjects.append((f"addr:{address}", policy.address_threshold))
    return subjects


def _store_failed(exc: Exception) -> None:
    global _last_error_log
    now = time.monotonic()
    if now - _last_error_log >= _ERROR_LOG_INTERVAL or _last_error_log == 0.0:
        _last_error_log = now
        logger.warning("login lockout: Redis unreachable, not counting (%s); muted for 60 s", exc)


@dataclasses.dataclass(frozen=True)
class Remaining:
    """Seconds left of the id's lock and of the address's (0.0: not locked)."""

    charge_point: float = 0.0
    address: float = 0.0

    @property
    def longest(self) -> float:
        return max(self.charge_point, self.address)


def lockout_remaining(*, charge_point_id: str, address: str, policy: Policy | None = None) -> Remaining:
    """How long the charge point id and the address stay locked ("" for either: not asked)."""
    policy = policy or Policy.from_settings()
    subjects = _subjects(charge_point_id, address, policy)
    if not subjects:
        return Remaining()
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for subject, _ in subjects:
                pipe.pttl(f"{PREFIX}lock:{subject}")
            ttls = pipe.execute()
    except redis.RedisError as exc:
        _store_failed(exc)
        return Remaining()
    # PTTL: -2 when the key does not exist
    seconds = {subject: max(int(ttl), 0) / 1000 for (subject, _), ttl in zip(subjects, ttls, strict=True)}
    return Remaining(
        charge_point=seconds.get(f"cid:{charge_point_id}", 0.0), address=seconds.get(f"addr:{address}", 0.0)
    )


def lockout_failure_record(*, charge_point_id: str, address: str, policy: Policy | None = None) -> Failure:
    """Count one failed login for the id and the address; lock those past their threshold."""
    policy = policy or Policy.from_settings()
    subjects = _subjects(charge_point_id, address, policy)
    counts: dict[str, int] = {}
    locks: dict[str, int] = {}
    try:
        client = get_redis()
        with client.pipeline(transaction=False) as pipe:
            for subject, _ in subjects:
                pipe.incr(f"{PREFIX}fail:{subject}")
            results = pipe.execute()
        with client.pipeline(transaction=False) as pipe:
            for (subject, threshold), failures in zip(subjects, results, strict=True):
                counts[subject] = int(failures)
                seconds = policy.lock_seconds(int(failures), threshold)
                pipe.expire(f"{PREFIX}fail:{subject}", policy.window_seconds + seconds)
                if seconds:
                    pipe.set(f"{PREFIX}lock:{subject}", "1", ex=seconds)
                    locks[subject] = seconds
            pipe.execute()
    except redis.RedisError as exc:
        _store_failed(exc)
    return Failure(
        charge_point_failures=counts.get(f"cid:{charge_point_id}", 0),
        address_failures=counts.get(f"addr:{address}", 0),
        locked_seconds=max(locks.values(), default=0),
        address_locked_seconds=locks.get(f"addr:{address}", 0),
    )


def lockout_reset(*, charge_point_id: str = "", address: str = "") -> None:
    """A successful login: forget the failures (and any lock) of the id and of the address."""
    keys = []
    for subject, value in (("cid", charge_point_id), ("addr", address)):
        if value:
            keys += [f"{PREFIX}fail:{subject}:{value}", f"{PREFIX}lock:{subject}:{value}"]
    if not keys:
        return
    try:
        get_redis().delete(*keys)
    except redis.RedisError as exc:
        _store_failed(exc)
