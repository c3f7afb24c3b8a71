"""OCPP 2.0.1's payload builders behind every operator shortcut (``chargers.ports.Shortcuts``).

The same shortcuts, with the same arguments, as 1.6 (``protocols.v16.shortcuts``): the API's request
bodies do not change with the version. A shortcut's ``connector_id`` is the EVSE number for a 2.0.1
station, as a 1.6 connector is an EVSE of its own (``chargers.models.Evse``).

Two builders read the database, because 2.0.1 asks for what the operator does not type: a remote
start names the token's type (the one we store, Central for a token we do not know: the CSMS vouches
for it), and a remote stop names the station's own transaction id, while operators name sessions by
our id (the API's and the dashboard's). Ids the station echoes back (remoteStartId, a report's
requestId) are fresh random positive 31-bit integers: stateless, and two alike among one station's
recent commands are a one-in-a-billion event (which would link a session to the wrong remote start
of the same station, nothing worse).
"""

from __future__ import annotations

import secrets
from typing import Any

from chargers.commands import CommandError
from chargers.models import IdTokenType
from chargers.ports import CommandRequest, Shortcuts
from chargers.tokens import tags_matching
from transactions.models import Transaction


def request_id() -> int:
    """A fresh id for a request the station answers in later messages (remoteStartId, requestId): 1 .. 2^31-1."""
    return secrets.randbelow(2**31 - 1) + 1


class V201Shortcuts:
    """The shortcuts as 2.0.1 spells them. Stateless: one instance, ``SHORTCUTS``."""

    version = "2.0.1"

    def remote_start(
        self, *, id_tag: str, connector_id: int | None = None, charging_profile: dict[str, Any] | None = None
    ) -> CommandRequest:
        # The stored token's type, whatever the case it was typed in (tokens match case-insensitively).
        stored = tags_matching({id_tag})
        token_type = stored[0].type if stored else None
        payload: dict[str, Any] = {
            "idToken": {"idToken": id_tag, "type": token_type or IdTokenType.CENTRAL},
            # The session this start causes carries it in its TransactionEvents: that links the two.
            "remoteStartId": request_id(),
        }
        # Without an EVSE the station picks one (F01).
        if connector_id is not None:
            payload["evseId"] = connector_id
        if charging_profile is not None:
            payload["chargingProfile"] = charging_profile
        return CommandRequest("RequestStartTransaction", payload)

    def remote_stop(self, *, transaction_id: int) -> CommandRequest:
        """Stop our session ``transaction_id`` (our primary key): the station knows it by its own id.

        CommandError when no active 2.0.1 session has this id (whether it is the charger's is
        ``command_check``'s to say: the shortcut is not told the charger).
        """
        charger_id = (
            Transaction.objects.filter(pk=transaction_id, stopped_at__isnull=True)
            .exclude(charger_transaction_id="")
            .values_list("charger_transaction_id", flat=True)
            .first()
        )
        if charger_id is None:
            raise CommandError(
                f"transaction {transaction_id} is not an active OCPP 2.0.1 session",
                {"transaction_id": ["no active 2.0.1 session with this id"]},
            )
        return CommandRequest("RequestStopTransaction", {"transactionId": charger_id})

    def reset(self, *, hard: bool) -> CommandRequest:
        # Hard: now, whatever it is doing; soft: once no session is running (B11, B12).
        return CommandRequest("Reset", {"type": "Immediate" if hard else "OnIdle"})

    def unlock(self, *, connector_id: int) -> CommandRequest:
        # The API's connector is an EVSE; an EVSE's first connector is the one to unlock.
        return CommandRequest("UnlockConnector", {"evseId": connector_id, "connectorId": 1})

    def availability(self, *, connector_id: int, operative: bool) -> CommandRequest:
        payload: dict[str, Any] = {"operationalStatus": "Operative" if operative else "Inoperative"}
        # 0 is the whole station: no evse at all (G03).
        if connector_id:
            payload["evse"] = {"id": connector_id}
        return CommandRequest("ChangeAvailability", payload)

    def trigger(self, *, message: str, connector_id: int | None = None) -> CommandRequest:
        payload: dict[str, Any] = {"requestedMessage": message}
        if connector_id:
            payload["evse"] = {"id": connector_id}
        return CommandRequest("TriggerMessage", payload)

    def boot_now(self) -> CommandRequest:
        return self.trigger(message="BootNotification")

    def configuration_read(self) -> CommandRequest:
        # The whole device model, answered in NotifyReport parts that carry this requestId (B07).
        return CommandRequest("GetBaseReport", {"requestId": request_id(), "reportBase": "FullInventory"})

    def clear_cache(self) -> CommandRequest:
        return CommandRequest("ClearCache", {})


SHORTCUTS: Shortcuts = V201Shortcuts()

__all__ = ["SHORTCUTS", "V201Shortcuts", "request_id"]
