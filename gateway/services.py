"""Charger credentials: every write and every check goes through these functions.

The same ``credential_check`` answers our gateway's handshakes and EMQX's HTTP authentication
requests (``POST /gateway/auth``), so one place manages charger credentials for both gateways.
"""

from __future__ import annotations

import functools
import re
import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction

from gateway.models import ChargerCredential

_CID_RE = re.compile(r"[^/+#]{1,48}\Z")


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the charge point id is unknown, so that "unknown id" and "wrong password"
    take the same time and an attacker cannot enumerate charger ids by timing. Made on first use: a
    PBKDF2 hash costs ~0.7 s here, and every process importing this module (workers too) paid it."""
    return make_password("dummy-password-for-constant-time-checks")


def charge_point_id_is_valid(charge_point_id: str) -> bool:
    """True for 1..48 characters with none of ``/ + #`` (what an MQTT topic level can carry)."""
    return bool(_CID_RE.match(charge_point_id))


def credential_set_password(
    *, charge_point_id: str, password: str | None = None, enabled: bool = True, note: str | None = None
) -> tuple[ChargerCredential, str]:
    """Create or update a charger's credential; returns it and the clear-text password.

    With no password a random one (24 URL-safe characters, within OCPP's 16..40 for an
    AuthorizationKey) is generated. The clear text is never stored.
    """
    if not charge_point_id_is_valid(charge_point_id):
        raise ValueError(f"invalid charge point id {charge_point_id!r}: 1..48 characters, none of / + #")
    if password is None:
        password = secrets.token_urlsafe(18)
    if not password:
        raise ValueError("the password must not be empty")
    defaults: dict[str, object] = {"password_hash": make_password(password), "enabled": enabled}
    if note is not None:
        defaults["note"] = note
    with transaction.atomic():
        credential, _ = ChargerCredential.objects.update_or_create(charge_point_id=charge_point_id, defaults=defaults)
    return credential, password


def credential_set_enabled(*, charge_point_id: str, enabled: bool) -> bool:
    """Enable or disable a charger's credential; False when there is none."""
    return bool(ChargerCredential.objects.filter(charge_point_id=charge_point_id).update(enabled=enabled))


def credential_check(charge_point_id: str, password: str) -> bool:
    """True when the charger has an enabled credential and the password matches it.

    Deliberately slow (the password hasher's work factor): callers that check often cache a
    positive answer for a short time.
    """
    credential = (
        ChargerCredential.objects.filter(charge_point_id=charge_point_id, enabled=True).only("password_hash").first()
    )
    if credential is None:
        check_password(password, _dummy_hash())
        return False
    return check_password(password, credential.password_hash)
