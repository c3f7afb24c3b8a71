"""The gateway's cache of admitted logins follows the credential: a charger reconnecting with the password
it was admitted with skips the hash, until the credential changes (a rotation, a profile change, disabled):
then the next handshake is checked again, and a rotated-out password is refused at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from gateway import services
from gateway.tests.conftest import new_cid
from gateway.tests.test_gateway import basic, ws_connect

pytestmark = pytest.mark.django_db(transaction=True)

OLD = "old-password-16chars"
NEW = "new-password-16chars"


async def status_of(url: str, cid: str, password: str) -> int:
    try:
        async with ws_connect(url, cid, basic(cid, password)):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_a_cached_login_is_checked_again_once_the_credential_changed(start_gateway: Any) -> None:
    gw = start_gateway(auth_cache_seconds=300)
    cid = new_cid()
    services.credential_set_password(charge_point_id=cid, password=OLD)

    assert asyncio.run(status_of(gw.url, cid, OLD)) == 101
    assert asyncio.run(status_of(gw.url, cid, OLD)) == 101  # from the cache
    services.credential_set_password(charge_point_id=cid, password=NEW)
    assert asyncio.run(status_of(gw.url, cid, OLD)) == 401  # the cache no longer speaks for it
    assert asyncio.run(status_of(gw.url, cid, NEW)) == 101
    services.credential_set_enabled(charge_point_id=cid, enabled=False)
    assert asyncio.run(status_of(gw.url, cid, NEW)) == 401
