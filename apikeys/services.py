"""Every write to API tokens: create (the key is returned once), revoke, note a use."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from .models import APIToken

# last_used_at is informative: writing it on every request would make every read a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_hash(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    throttle_rate: str = "",
) -> tuple[APIToken, str]:
    """Create a token for ``user``; return it and its clear-text key (which is never stored)."""
    key = secrets.token_urlsafe(32)
    token = APIToken.objects.create(
        user=user,
        name=name,
        prefix=key[:8],
        key_hash=api_key_hash(key),
        expires_at=expires_at,
        throttle_rate=throttle_rate,
    )
    return token, key


def api_token_revoke(*, token: APIToken, now: datetime | None = None) -> APIToken:
    """Revoke a token for good (a revoked token stays listed, for the record)."""
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_used(*, token: APIToken, now: datetime) -> None:
    """Note that the token was used, at most once a minute."""
    if token.last_used_at is None or now - token.last_used_at >= _LAST_USED_RESOLUTION:
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def roles_sync() -> None:
    """Create the viewer/operator/admin groups with exactly their permissions (ROLES).

    The migration creates them once; this puts them back after a database flush (transactional
    tests) or after someone edited them by hand.
    """
    from django.contrib.auth.models import Group, Permission

    from .permissions import ROLES

    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
