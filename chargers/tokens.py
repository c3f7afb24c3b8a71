"""Id token authorization for both OCPP versions: may this token charge here, and what do we answer.

One table of tokens (``IdTag``) serves both versions. 1.6 names a tag by its value only; 2.0.1 names a
token by value and type, and a token stored with another type is not the one asked about (unknown).
The answer is one ``TokenInfo``, spelled by each version (``to_v16``: IdTagInfo, ``to_v201``: idTokenInfo).

A token matches whatever its case: 1.6's idTag is a CiString20Type and 2.0.1's IdTokenType.idToken "is case
insensitive". The value is kept as it was written (the charger's, the operator's); it is compared upper-cased,
as the unique index uniq_id_tag_upper holds it (UPPER(id_tag)), so a lookup is one step of that index and two
stored tokens cannot differ only by case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models.functions import Upper

from .models import V16_STATUSES, AuthorizationStatus, ChargePoint, IdTag, IdTokenType, RegistrationStatus

_TYPES = frozenset(IdTokenType.values)


@dataclasses.dataclass(frozen=True)
class TokenRequest:
    """One question about a token: its value, its 2.0.1 type (None: 1.6, by value), where it is presented.

    ``evse_id`` is the EVSE it is presented at, when the charger says (no rule reads it yet: a token
    valid only on some EVSEs would answer NotAllowedTypeEVSE elsewhere).
    """

    value: str
    type: str | None
    charge_point: ChargePoint | None
    evse_id: int | None = None


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    """What we answer about a token: status, until when (a cache may keep it), its group."""

    status: str
    expiry_date: datetime | None = None
    group_id_token: str = ""
    group_type: str = ""

    def to_v16(self) -> dict[str, Any]:
        """1.6's IdTagInfo (a status only 2.0.1 knows, such as NoCredit, is Blocked there)."""
        info: dict[str, Any] = {"status": self.status if self.status in V16_STATUSES else AuthorizationStatus.BLOCKED}
        if self.expiry_date:
            info["expiryDate"] = self.expiry_date.isoformat().replace("+00:00", "Z")
        if self.group_id_token:
            info["parentIdTag"] = self.group_id_token
        return info

    def to_v201(self) -> dict[str, Any]:
        """2.0.1's IdTokenInfoType: status, cacheExpiryDateTime, groupIdToken {idToken, type}."""
        info: dict[str, Any] = {"status": self.status}
        if self.expiry_date:
            info["cacheExpiryDateTime"] = self.expiry_date.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if self.group_id_token:
            info["groupIdToken"] = {"idToken": self.group_id_token, "type": self.group_type or IdTokenType.CENTRAL}
        return info


def id_tokens_authorize(*, requests: list[TokenRequest], now: datetime) -> list[TokenInfo]:
    """Decide on many tokens at once (one query for all the stored tokens), answers in request order.

    - A charger that is not Accepted may not start charging: its requests are answered, every token Invalid.
    - 2.0.1: a type outside IdTokenEnumType (``Cash``: the validation lets any string through for this) is a
      token we do not take, Invalid (never a CallError); NoAuthorization (no token, the station lets anyone
      charge) is Accepted; a stored token is found by value and type, one of another type is unknown.
    - Unknown tokens follow CSMS_UNKNOWN_ID_TAG_POLICY: "accept" Accepted; "invalid" Invalid for 1.6 and
      Unknown for 2.0.1 (its own status for a token the CSMS does not know).
    - A stored Accepted token past its expiry date is Expired.
    """
    wanted = {token_key(request.value) for request in requests if token_lookup_needed(request)}
    tags = {tag_.id_tag: tag_ for tag_ in tags_matching(wanted)} if wanted else {}
    return id_tokens_decide(requests=requests, tags={token_key(value): tag_ for value, tag_ in tags.items()}, now=now)


def token_key(value: str) -> str:
    """What a token is compared by: its value upper-cased (case-insensitive, as both versions say)."""
    return value.upper()


def tags_matching(values: set[str]) -> list[IdTag]:
    """The stored tokens (parents attached) whose value is one of ``values`` whatever its case: one statement,
    one step of uniq_id_tag_upper per value (``values`` upper-cased or not)."""
    keys = {token_key(value) for value in values}
    return list(IdTag.objects.select_related("parent").alias(key=Upper("id_tag")).filter(key__in=keys))


def id_tokens_decide(*, requests: list[TokenRequest], tags: Mapping[str, IdTag], now: datetime) -> list[TokenInfo]:
    """``id_tokens_authorize`` with the stored tokens already read (``tags`` by ``token_key``, parents attached).

    For a hot path that reads the tokens in a statement of its own (2.0.1's TransactionEvent): the rules
    stay here, in one place for both versions.
    """
    accept_unknown = settings.CSMS_UNKNOWN_ID_TAG_POLICY == "accept"
    infos = []
    for request in requests:
        if not _may_charge(request.charge_point) or (request.type is not None and request.type not in _TYPES):
            infos.append(TokenInfo(AuthorizationStatus.INVALID))
            continue
        if request.type == IdTokenType.NO_AUTHORIZATION:
            infos.append(TokenInfo(AuthorizationStatus.ACCEPTED))
            continue
        tag = tags.get(token_key(request.value))
        if tag is None or (request.type is not None and tag.type != request.type):
            if accept_unknown:
                infos.append(TokenInfo(AuthorizationStatus.ACCEPTED))
            else:
                v16 = request.type is None
                infos.append(TokenInfo(AuthorizationStatus.INVALID if v16 else AuthorizationStatus.UNKNOWN))
            continue
        status = tag.status
        if status == AuthorizationStatus.ACCEPTED and tag.expiry_date and tag.expiry_date <= now:
            status = AuthorizationStatus.EXPIRED
        parent = tag.parent
        infos.append(TokenInfo(status, tag.expiry_date, parent.id_tag if parent else "", parent.type if parent else ""))
    return infos


def token_lookup_needed(request: TokenRequest) -> bool:
    """Whether the answer depends on the stored token (not decided by the charger or the type alone)."""
    if not _may_charge(request.charge_point):
        return False
    return request.type is None or (request.type in _TYPES and request.type != IdTokenType.NO_AUTHORIZATION)


def _may_charge(charge_point: ChargePoint | None) -> bool:
    return charge_point is None or charge_point.registration_status == RegistrationStatus.ACCEPTED
