"""What every part of a simulated 2.0.1 station (``gateway.simulator_v201`` and its ``sim_v201_*`` blocks)
shares: the connection's ChargePoint, its state and options, its background tasks, and how a request
names EVSEs and variables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from ocpp.exceptions import OccurrenceConstraintViolationError
from ocpp.v201 import ChargePoint
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from gateway.sim_v201_model import CONNECTOR_ID, EVSES, StationState, Variable, component_key
from gateway.simulator import Options, now_iso

logger = logging.getLogger("gateway.simulator_v201")


class StationBase(ChargePoint):
    """One connection of a simulated station: the ``ocpp`` v201 ChargePoint, its state and tasks."""

    def __init__(self, state: StationState, connection: ClientConnection, options: Options) -> None:
        super().__init__(state.cid, connection, response_timeout=options.response_timeout)
        self.state = state
        self.options = options
        self._tasks: set[asyncio.Task[Any]] = set()
        # Set when a BootNotification the CSMS triggered (an operator accepted us) was Accepted: the
        # boot loop stops waiting out its retry interval.
        self._accepted = asyncio.Event()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        # A closed connection ends every task that was calling: only other failures are news.
        if not task.cancelled() and not isinstance(task.exception(), ConnectionClosed | None):
            logger.error("%s: %r", self.state.cid, task.exception(), exc_info=task.exception())

    async def reboot(self, reason: str = "RemoteReset") -> None:
        """End the transactions and restart (the station's, in ``simulator_v201``)."""
        raise NotImplementedError

    @staticmethod
    def now() -> str:
        return now_iso()

    def busy(self, evse_ids: Iterable[int] = EVSES) -> bool:
        return any(self.state.evses[e].transaction_id is not None for e in evse_ids)

    def transaction_evse(self, transaction_id: str) -> int | None:
        for evse_id, evse in self.state.evses.items():
            if evse.transaction_id == transaction_id:
                return evse_id
        return None

    def evse_target(self, evse: dict[str, Any] | None) -> list[int] | None:
        """The EVSEs a request's optional ``evse`` names (all for none or id 0); None: no such EVSE."""
        if not evse or evse.get("id") == 0:
            return list(EVSES)
        if evse.get("id") not in self.state.evses or evse.get("connector_id") not in (None, CONNECTOR_ID):
            return None
        return [evse["id"]]

    def lookup(self, component: dict[str, Any], variable: dict[str, Any]) -> tuple[Variable | None, str]:
        """The variable a request names, or None and the attribute status that says why not."""
        variables = self.state.model.get(component_key(component))
        if variables is None:
            return None, "UnknownComponent"
        found = variables.get((variable["name"], variable.get("instance")))
        return found, "Accepted" if found is not None else "UnknownVariable"

    def check_items(self, component: str, instance: str, count: int) -> None:
        limit = self.state.number(component, "ItemsPerMessage", instance)
        if count > limit:
            # A station may refuse a request over its ItemsPerMessage (B05, B06, N04), and ours does, so
            # that a CSMS which does not split its requests is caught by the demo fleet.
            raise OccurrenceConstraintViolationError(description=f"{count} items, ItemsPerMessage{instance} is {limit}")
