"""Tariff and cost (block I): CostUpdated, the running and total cost of a session.

The cost itself is the domain's (``tariffs``): a TransactionEvent's reply carries totalCost (the final one on
Ended, the running total on Updated: ``transactions.events``) and ``tariffs.tasks`` queues CostUpdated with
the running total. This side refuses a CostUpdated that could mean nothing to the station.
"""

from __future__ import annotations

import math
from typing import Any

from chargers.commands import CommandError
from chargers.models import ChargePoint
from transactions.models import Transaction

from ..blocks import Block


def _cost_updated_check(charge_point: ChargePoint, payload: dict[str, Any]) -> None:
    """The session must be an active one of this station (I02: the running total of an ongoing transaction),
    and the total a finite amount not below zero."""
    transaction_id = payload["transactionId"]
    total = payload["totalCost"]
    if not math.isfinite(total) or total < 0:
        raise CommandError(
            f"totalCost {total!r} is not an amount", {"totalCost": ["must be a finite amount, not below 0"]}
        )
    active = (
        transaction_id != ""
        and Transaction.objects.filter(
            charge_point=charge_point, charger_transaction_id=transaction_id, stopped_at__isnull=True
        ).exists()
    )
    if not active:
        raise CommandError(
            f"transaction {transaction_id!r} is not an active session of {charge_point}",
            {"transactionId": ["no active session with this transactionId on this charging station"]},
        )


BLOCK = Block("cost", checks={"CostUpdated": _cost_updated_check})
