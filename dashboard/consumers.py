"""Websocket consumers that keep an open dashboard page true to the database.

A consumer joins the Channels groups of what its page shows (``fleet`` or one charger's group, see
``backoffice.events``). An event only marks the page stale: after a short pause that gathers a
burst of events into one update, the consumer re-reads the page through the selectors and sends
the re-rendered fragments. A lost event costs freshness, never truth; every (re)connect pushes
the whole page once, covering what happened between the page load and the socket opening.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import QueryDict

from backoffice.events import FLEET_GROUP
from transactions.models import Transaction

from . import fragments, panels, selectors

# Close code sent to a socket without an authenticated session (before accept: an HTTP 403).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Base: authentication, groups, coalesced pushes. Subclasses say what to join and render."""

    # Seconds to gather events before re-reading: a burst becomes one update, well within a second.
    flush_delay = 0.15

    async def connect(self) -> None:
        self.live_groups: list[str] = []
        self._stale = False
        self._flusher: asyncio.Task[None] | None = None
        # Pushes run one at a time, so an older state can never overwrite a newer one.
        self._push_lock = asyncio.Lock()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        groups = await self.groups_to_join()
        if groups is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.live_groups = groups
        await self.accept()
        await self.push()

    async def disconnect(self, code: int) -> None:
        for group in self.live_groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The page may ask for a full refresh (after it was hidden, or its own submit)."""
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.push()

    async def fleet_event(self, event: dict[str, Any]) -> None:
        """``backoffice.events`` sent something: mark the page stale, push soon."""
        if not self.wants(event):
            return
        self._stale = True
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def fleet_events(self, message: dict[str, Any]) -> None:
        """A worker's batch of events, sent to the fleet group as one message."""
        for event in message["events"]:
            await self.fleet_event(event)

    async def _flush(self) -> None:
        # Events that arrive during a push set _stale again and get one more push.
        while self._stale:
            await asyncio.sleep(self.flush_delay)
            self._stale = False
            await self.push()

    async def push(self) -> None:
        async with self._push_lock:
            html = await database_sync_to_async(self.render)()
            await self.send_json({"fragments": html})

    def query(self) -> QueryDict:
        """The page's own query string (filters, page number), as passed in the socket URL.

        A QueryDict, as the page's request.GET: a list filter (``status=Faulted&status=Charging``) gets
        every value. A dict held one string, which the list filter refused: the live page showed every charger.
        """
        return QueryDict(self.scope.get("query_string", b"").decode("latin-1"))

    async def groups_to_join(self) -> list[str] | None:
        """Channels groups to follow; None refuses the socket (nothing to show)."""
        return [FLEET_GROUP]

    def wants(self, event: dict[str, Any]) -> bool:
        return True

    def render(self) -> dict[str, str]:
        """Re-read the page from the database; ``{element id: html}`` (runs in a worker thread)."""
        raise NotImplementedError


class FleetConsumer(LiveConsumer):
    """The fleet overview: counts and the current page of the charger table."""

    # Every charger's every message lands here: update at most a few times a second.
    flush_delay = 0.2

    def render(self) -> dict[str, str]:
        query = self.query()
        context = {"fleet": selectors.fleet_page(query), "query": query}
        return {
            **fragments.render_fragments(fragments.FLEET, context),
            **panels.as_fragments(panels.fleet_panels(context)),
        }


class ChargerConsumer(LiveConsumer):
    """One charger's page."""

    async def groups_to_join(self) -> list[str] | None:
        self.charge_point_id = str(self.scope["url_route"]["kwargs"]["charge_point_id"])
        return [FLEET_GROUP]

    def wants(self, event: dict[str, Any]) -> bool:
        return event.get("charge_point_id") == self.charge_point_id

    def render(self) -> dict[str, str]:
        # The page's query: the device model card's filters stay as the operator set them.
        detail = selectors.charger_detail(self.charge_point_id, self.query())
        if detail is None:
            return {}
        context = {"detail": detail}
        return {
            **fragments.render_fragments(fragments.CHARGER, context),
            **panels.as_fragments(panels.charger_panels(detail.charge_point, context)),
        }


# What can change a sessions table: a session starting or stopping, or its meter values (1.6), or any
# event of its life (2.0.1 TransactionEvent).
SESSION_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues", "TransactionEvent"})


class SessionsConsumer(LiveConsumer):
    """The sessions list (its current page and filters)."""

    flush_delay = 0.3

    def wants(self, event: dict[str, Any]) -> bool:
        return event.get("kind") == "ocpp" and event.get("action") in SESSION_ACTIONS

    def render(self) -> dict[str, str]:
        query = self.query()
        context = {"sessions": selectors.session_page(query), "query": query}
        return fragments.render_fragments(fragments.SESSIONS, context)


class SessionConsumer(LiveConsumer):
    """One session's page: follows its charger."""

    async def groups_to_join(self) -> list[str] | None:
        self.pk = int(self.scope["url_route"]["kwargs"]["pk"])
        cid = await database_sync_to_async(self._charge_point_id)()
        if cid is None:
            return None
        self.charge_point_id = cid
        return [FLEET_GROUP]

    def _charge_point_id(self) -> str | None:
        return Transaction.objects.filter(pk=self.pk).values_list("charge_point__charge_point_id", flat=True).first()

    def wants(self, event: dict[str, Any]) -> bool:
        return event.get("kind") == "ocpp" and event.get("charge_point_id") == self.charge_point_id

    def render(self) -> dict[str, str]:
        detail = selectors.session_detail(self.pk)
        if detail is None:
            return {}
        templates = dict(fragments.SESSION)
        if detail.summary.transaction.charger_transaction_id:
            templates.update(fragments.SESSION_EVENTS)
        return fragments.render_fragments(templates, {"session": detail})


class PendingConsumer(LiveConsumer):
    """Chargers waiting for a decision: a new one appears when it boots."""

    def wants(self, event: dict[str, Any]) -> bool:
        return event.get("kind") == "presence" or event.get("action") == "BootNotification"

    def render(self) -> dict[str, str]:
        query = self.query()
        context = {"registrations": selectors.registration_page(query), "query": query}
        return fragments.render_fragments(fragments.REGISTRATIONS, context)
