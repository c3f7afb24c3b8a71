"""Which tariff prices a session: the charger's own, else its group's, else the default; valid at the start;
of one scope, the one that became valid last. The SQL the session services use and the ORM agree."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from chargers.models import ChargePoint
from tariffs.models import ChargerGroup, ChargerGroupMember, Tariff
from tariffs.selectors import tariff_applicable, tariff_applicable_sql

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
_ids = itertools.count()


def charger() -> ChargePoint:
    return ChargePoint.objects.create(charge_point_id=f"CP-{next(_ids)}")


def tariff(name: str, **fields: Any) -> Tariff:
    return Tariff.objects.create(name=name, currency="EUR", energy_price=Decimal("0.3"), **fields)


def applicable(cp: ChargePoint, at: datetime) -> tuple[str | None, str | None]:
    """(the ORM's choice, the SQL's), by name."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {tariff_applicable_sql('%s', '%s')}", [cp.pk, at, at, cp.pk, at, at, at, at])
        (found,) = cursor.fetchone()
    orm = tariff_applicable(charge_point=cp, at=at)
    sql = Tariff.objects.get(pk=found).name if found is not None else None
    return (orm.name if orm else None, sql)


def test_the_most_specific_scope_valid_at_the_start_wins() -> None:
    own, grouped, alone = charger(), charger(), charger()
    group = ChargerGroup.objects.create(name="Depot")
    for cp in (own, grouped):
        ChargerGroupMember.objects.create(group=group, charge_point=cp)
    assert applicable(alone, T0) == (None, None)
    tariff("default")
    tariff("old default", valid_to=T0)
    tariff("group", group=group, valid_from=T0 - timedelta(days=1))
    tariff("group, newer", group=group, valid_from=T0 + timedelta(hours=1))
    tariff("own, ended", charge_point=own, valid_to=T0)
    assert applicable(own, T0) == ("group", "group")
    tariff("own", charge_point=own, valid_from=T0 - timedelta(days=30))
    assert applicable(own, T0) == ("own", "own")
    assert applicable(grouped, T0) == ("group", "group")
    assert applicable(grouped, T0 + timedelta(hours=2)) == ("group, newer", "group, newer")
    assert applicable(alone, T0) == ("default", "default")
    # Before T0 both defaults are valid, both valid "always": the one created last.
    assert applicable(alone, T0 - timedelta(minutes=1)) == ("old default", "old default")


def test_an_open_start_counts_as_the_earliest() -> None:
    cp = charger()
    tariff("always")
    tariff("from now", valid_from=T0)
    assert applicable(cp, T0) == ("from now", "from now")
    assert applicable(cp, T0 - timedelta(seconds=1)) == ("always", "always")
