"""OCPP 2.0.1 Calls about sessions: Authorize, TransactionEvent, MeterValues (filled in by issue 15's work)."""

from __future__ import annotations

from .. import BulkHandler, Handler

HANDLERS: dict[str, Handler] = {}
BULK_HANDLERS: dict[str, BulkHandler] = {}
