"""Rows in the backoffice's tables, counted through Django's database connection.

The tables are those of the ``chargers``, ``transactions`` and ``mqtt_bridge`` apps as their
models declare them; anything missing (no models yet, no migration, no database) is skipped.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

APPS = ("chargers", "transactions", "mqtt_bridge")


def tables() -> list[str]:
    """Database tables of the backoffice's apps (empty if Django is not set up)."""
    try:
        from django.apps import apps

        return sorted(model._meta.db_table for label in APPS for model in apps.get_app_config(label).get_models())
    except Exception:  # no Django, no app: nothing to count
        logger.info("no backoffice tables to count", exc_info=True)
        return []


def count_rows(names: list[str]) -> dict[str, int]:
    """Exact row count per existing table."""
    from django.db import connection

    counts: dict[str, int] = {}
    try:
        existing = set(connection.introspection.table_names())
        with connection.cursor() as cursor:
            for name in names:
                if name in existing:
                    cursor.execute(f'SELECT count(*) FROM "{name}"')
                    counts[name] = int(cursor.fetchone()[0])
    except Exception:  # the benchmark still reports everything else
        logger.warning("could not count rows", exc_info=True)
    return counts


def written(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Rows added per table (only tables that grew)."""
    grown = {name: after[name] - before.get(name, 0) for name in after}
    return {name: delta for name, delta in grown.items() if delta > 0}
