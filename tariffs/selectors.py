"""Which tariff prices a session, and what a session costs so far: the one read side of cost.

The session services pick the tariff inside their own bulk statements (``tariff_applicable_sql``), so
that a wave of starts costs no statement more; ``tariff_applicable`` is the same rule in the ORM, for
one charger (the API's "which tariff applies here now").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Case, F, IntegerField, Q, Value, When

from chargers.models import ChargePoint

from . import pricing
from .models import ChargerGroupMember, Tariff

if TYPE_CHECKING:
    from transactions.models import Transaction

_TARIFFS = Tariff._meta.db_table
_MEMBERS = ChargerGroupMember._meta.db_table


def tariff_applicable_sql(charge_point_id: str, at: str) -> str:
    """A scalar subquery: the id of the tariff that prices a session of charger ``charge_point_id`` started
    at ``at`` (both SQL expressions), or NULL. The charger's own, else its group's, else the default; of
    one scope, the one valid last. The tariffs table is small; a few index steps per session started.
    """
    valid = f"(f.valid_from IS NULL OR f.valid_from <= {at}) AND (f.valid_to IS NULL OR {at} < f.valid_to)"
    # Three branches, each one an index's (charger, group member, defaults), rather than one OR of them.
    return f"""(
        SELECT c.id FROM (
            SELECT f.id, 0 AS rank, f.valid_from FROM {_TARIFFS} f
            WHERE f.charge_point_id = {charge_point_id} AND {valid}
            UNION ALL
            SELECT f.id, 1, f.valid_from FROM {_TARIFFS} f JOIN {_MEMBERS} m ON m.group_id = f.group_id
            WHERE m.charge_point_id = {charge_point_id} AND {valid}
            UNION ALL
            SELECT f.id, 2, f.valid_from FROM {_TARIFFS} f
            WHERE f.charge_point_id IS NULL AND f.group_id IS NULL AND {valid}
        ) c
        ORDER BY c.rank, c.valid_from DESC NULLS LAST, c.id DESC
        LIMIT 1
    )"""


def tariff_applicable(*, charge_point: ChargePoint, at: datetime) -> Tariff | None:
    """The tariff a session of ``charge_point`` started at ``at`` is priced by (``tariff_applicable_sql``'s rule)."""
    group = ChargerGroupMember.objects.filter(charge_point=charge_point).values("group_id")
    return (
        Tariff.objects.filter(
            Q(charge_point=charge_point) | Q(group__in=group) | Q(charge_point__isnull=True, group__isnull=True),
            Q(valid_from__isnull=True) | Q(valid_from__lte=at),
            Q(valid_to__isnull=True) | Q(valid_to__gt=at),
        )
        .annotate(
            rank=Case(
                When(charge_point__isnull=False, then=Value(0)),
                When(group__isnull=False, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", F("valid_from").desc(nulls_last=True), "-id")
        .first()
    )


def prices_of(tariff: Tariff) -> pricing.Prices:
    return pricing.Prices(
        currency=tariff.currency,
        energy_price=tariff.energy_price,
        time_price=tariff.time_price,
        session_fee=tariff.session_fee,
    )


def session_cost(session: Transaction, *, energy_wh: int | None, now: datetime) -> Decimal | None:
    """What ``session`` costs: its final cost once stopped, else so far (None without a tariff).

    ``energy_wh``: the session's energy so far (``fleet.selectors.session_energy_wh``), read by the caller
    with the rest of its page so that a list costs no query per row. The tariff must be loaded with it
    (``select_related("tariff")``).
    """
    if session.total_cost is not None:
        return pricing.rounded(session.total_cost, session.currency)
    if session.tariff is None:
        return None
    return pricing.cost(
        prices_of(session.tariff), energy_wh=energy_wh, charging_seconds=session.charging_seconds_at(now)
    )
