"""Display messages and cost of a simulated 2.0.1 station (blocks O and I): SetDisplayMessage (kept, within
DisplayMessageCtrlr's formats, priorities and count), GetDisplayMessages (NotifyDisplayMessages),
ClearDisplayMessage, and CostUpdated (the running cost of a transaction, kept and logged). A message tied
to a transaction goes when the transaction ends (O03)."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

from gateway.sim_v201_base import StationBase
from gateway.sim_v201_model import MAX_MESSAGES

logger = logging.getLogger("gateway.simulator_v201")

MESSAGES_PER_PART = 4


class DisplayBlock(StationBase):
    """Blocks O and I of a simulated station."""

    @on(Action.set_display_message)
    def on_set_display_message(self, message: dict[str, Any], **kwargs: Any) -> Any:
        if not self.state.flag("DisplayMessageCtrlr", "Enabled"):
            return call_result.SetDisplayMessage(status="Rejected")
        if message["message"]["format"] not in self.state.members("DisplayMessageCtrlr", "SupportedFormats"):
            return call_result.SetDisplayMessage(status="NotSupportedMessageFormat")
        if message["priority"] not in self.state.members("DisplayMessageCtrlr", "SupportedPriorities"):
            return call_result.SetDisplayMessage(status="NotSupportedPriority")
        transaction_id = message.get("transaction_id")
        if transaction_id is not None and self.transaction_evse(transaction_id) is None:
            return call_result.SetDisplayMessage(status="UnknownTransaction")
        display = message.get("display")
        if display is not None and self.evse_target(display.get("evse")) is None:  # a display of no EVSE here
            return call_result.SetDisplayMessage(status="Rejected")
        if message["id"] not in self.state.messages and len(self.state.messages) >= MAX_MESSAGES:
            return call_result.SetDisplayMessage(status="Rejected")
        self.state.messages[int(message["id"])] = dict(message)  # the same id replaces it (O01.FR.?)
        return call_result.SetDisplayMessage(status="Accepted")

    def messages_matching(self, ids: list[int] | None, priority: str | None, state: str | None) -> list[dict[str, Any]]:
        return [
            m
            for m in self.state.messages.values()
            if (ids is None or m["id"] in ids) and priority in (None, m["priority"]) and state in (None, m.get("state"))
        ]

    @on(Action.get_display_messages)
    def on_get_display_messages(
        self,
        request_id: int,
        id: list[int] | None = None,  # noqa: A002 (OCPP's name)
        priority: str | None = None,
        state: str | None = None,
        **kwargs: Any,
    ) -> Any:
        found = self.messages_matching(id, priority, state)
        return call_result.GetDisplayMessages(status="Accepted" if found else "Unknown")

    @after(Action.get_display_messages)
    async def after_get_display_messages(
        self,
        request_id: int,
        id: list[int] | None = None,  # noqa: A002
        priority: str | None = None,
        state: str | None = None,
        **kwargs: Any,
    ) -> None:
        found = self.messages_matching(id, priority, state)
        parts = [found[i : i + MESSAGES_PER_PART] for i in range(0, len(found), MESSAGES_PER_PART)]
        for index, part in enumerate(parts):
            await self.call(
                call.NotifyDisplayMessages(request_id=request_id, message_info=part, tbc=index < len(parts) - 1)
            )

    @on(Action.clear_display_message)
    def on_clear_display_message(self, id: int, **kwargs: Any) -> Any:  # noqa: A002 (OCPP's name)
        found = self.state.messages.pop(id, None) is not None
        return call_result.ClearDisplayMessage(status="Accepted" if found else "Unknown")

    def transaction_messages_end(self, transaction_id: str) -> None:
        """A transaction ended: the messages shown for it go (O03)."""
        for message_id, message in list(self.state.messages.items()):
            if message.get("transaction_id") == transaction_id:
                del self.state.messages[message_id]

    # --- cost (I02) -----------------------------------------------------------------------------------
    @on(Action.cost_updated)
    def on_cost_updated(self, total_cost: float, transaction_id: str, **kwargs: Any) -> Any:
        # The station shows the running cost on its display; ours logs and keeps it.
        self.state.costs[transaction_id] = float(total_cost)
        logger.info("%s: transaction %s costs %.2f so far", self.state.cid, transaction_id, total_cost)
        return call_result.CostUpdated()
