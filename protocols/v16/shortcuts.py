"""OCPP 1.6's payload builders behind every operator shortcut (``chargers.ports.Shortcuts``).

The API's shortcut endpoints, the dashboard's command buttons, the admin's actions and the domain's
own follow-ups (accept -> boot now, boot -> read the configuration) all build their command here,
through ``chargers.ports.port_of(charge_point).shortcuts``: none of them writes a 1.6 payload or
action name, and a new version brings its own spelling of the same shortcuts. A builder only spells;
whether the command can go (schema, charger state) is ``command_check``'s and ``command_enqueue``'s.

A new shortcut: a method on ``chargers.ports.Shortcuts``, one builder here (and in every other
version's ``shortcuts``), then the callers.
"""

from __future__ import annotations

from typing import Any

from chargers.ports import CommandRequest, Shortcuts


class V16Shortcuts:
    """The shortcuts as 1.6 spells them. Stateless: one instance, ``SHORTCUTS``."""

    version = "1.6"

    def remote_start(
        self, *, id_tag: str, connector_id: int | None = None, charging_profile: dict[str, Any] | None = None
    ) -> CommandRequest:
        # Without a connector the charger picks one (1.6 5.11).
        payload: dict[str, Any] = {"idTag": id_tag}
        if connector_id is not None:
            payload["connectorId"] = connector_id
        if charging_profile is not None:
            payload["chargingProfile"] = charging_profile
        return CommandRequest("RemoteStartTransaction", payload)

    def remote_stop(self, *, transaction_id: int) -> CommandRequest:
        return CommandRequest("RemoteStopTransaction", {"transactionId": transaction_id})

    def reset(self, *, hard: bool) -> CommandRequest:
        return CommandRequest("Reset", {"type": "Hard" if hard else "Soft"})

    def unlock(self, *, connector_id: int) -> CommandRequest:
        return CommandRequest("UnlockConnector", {"connectorId": connector_id})

    def availability(self, *, connector_id: int, operative: bool) -> CommandRequest:
        # connectorId 0 is the whole charger.
        return CommandRequest(
            "ChangeAvailability", {"connectorId": connector_id, "type": "Operative" if operative else "Inoperative"}
        )

    def trigger(self, *, message: str, connector_id: int | None = None) -> CommandRequest:
        payload: dict[str, Any] = {"requestedMessage": message}
        if connector_id is not None:
            payload["connectorId"] = connector_id
        return CommandRequest("TriggerMessage", payload)

    def boot_now(self) -> CommandRequest:
        return self.trigger(message="BootNotification")

    def configuration_read(self) -> CommandRequest:
        # No key: every key the charger has (GetConfiguration without "key").
        return CommandRequest("GetConfiguration", {})

    def clear_cache(self) -> CommandRequest:
        return CommandRequest("ClearCache", {})


SHORTCUTS: Shortcuts = V16Shortcuts()

__all__ = ["SHORTCUTS", "V16Shortcuts"]
