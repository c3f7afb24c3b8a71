"""Every write of tariffs and cost: group membership, the running cost sent to stations (CostUpdated)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from chargers.commands import CommandError, command_enqueue
from chargers.models import ChargePoint, Command
from fleet.selectors import session_energy_wh, with_latest_energy
from transactions.models import Transaction

from . import pricing
from .models import ChargerGroup, ChargerGroupMember
from .selectors import session_cost

logger = logging.getLogger(__name__)

# The versions whose stations take a running total (2.0.1 block I's CostUpdated; 2.1 keeps it as is). The
# action and its payload are the same in both; a 1.6 charger has no such message and is never sent one.
COST_UPDATED = "CostUpdated"
COST_UPDATED_VERSIONS = ("2.0.1", "2.1")


def charger_group_members_set(*, group: ChargerGroup, charge_points: Iterable[ChargePoint]) -> None:
    """Make ``charge_points`` the group's members, moving each from the group it was in (one group each).

    A session keeps the tariff it started with; the new group's tariff prices the sessions started after.
    """
    wanted = {charge_point.pk for charge_point in charge_points}
    with transaction.atomic():
        ChargerGroupMember.objects.filter(group=group).exclude(charge_point_id__in=wanted).delete()
        ChargerGroupMember.objects.filter(charge_point_id__in=wanted).exclude(group=group).delete()
        have = set(ChargerGroupMember.objects.filter(group=group).values_list("charge_point_id", flat=True))
        ChargerGroupMember.objects.bulk_create(
            [ChargerGroupMember(group=group, charge_point_id=pk) for pk in sorted(wanted - have)]
        )


def session_costs_send(*, now: datetime) -> list[Command]:
    """Queue a CostUpdated for every active 2.0.1 session whose running total changed since the last one sent.

    Only for stations online (a command queued for one offline would reach it stale), priced by a tariff,
    and without one of its CostUpdated still queued (it goes out before a newer figure is worth sending).
    Returns the commands queued. A station that takes no commands now (CommandError) is skipped and logged.
    """
    sessions = with_latest_energy(
        Transaction.objects.filter(
            stopped_at__isnull=True,
            tariff__isnull=False,
            charge_point__online=True,
            charge_point__ocpp_version__in=COST_UPDATED_VERSIONS,
        )
        .exclude(charger_transaction_id="")
        .select_related("tariff", "charge_point")
    )
    waiting = set(
        Command.objects.filter(action=COST_UPDATED, status=Command.Status.QUEUED).values_list(
            "charge_point_id", "request__transactionId"
        )
    )
    queued = []
    for session in sessions.iterator(chunk_size=500):
        cost = session_cost(session, energy_wh=session_energy_wh(session), now=now)
        if cost is None or cost == session.cost_sent:
            continue
        if (session.charge_point_id, session.charger_transaction_id) in waiting:
            continue
        try:
            queued.append(_cost_updated_enqueue(session, cost))
        except CommandError as error:
            logger.info("CostUpdated for %s not queued: %s", session.charge_point, error.message)
    return queued


def _cost_updated_enqueue(session: Transaction, cost: Decimal) -> Command:
    with transaction.atomic():
        command = command_enqueue(
            charge_point=session.charge_point,
            action=COST_UPDATED,
            payload={"totalCost": pricing.wire(cost), "transactionId": session.charger_transaction_id},
            requested_by="system: running cost",
        )
        Transaction.objects.filter(pk=session.pk).update(cost_sent=cost)
    return command
