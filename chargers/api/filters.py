"""Deprecated: the FilterSets live in ``chargers.filtersets`` (shared with the dashboard).

Kept for the modules that still import the field types from here (``mqtt_bridge.api.filters``);
import from ``chargers.filtersets`` instead. The credential FilterSet is ``gateway.filtersets``.
"""

from chargers.filtersets import (
    CONNECTOR_STATUSES,
    BooleanFilter,
    IntegerFilter,
    IsoDateTimeFilter,
    StrictBooleanField,
    StrictBooleanWidget,
    UTCIsoDateTimeField,
)
from chargers.filtersets import ChargePointFilterSet as ChargePointFilter
from chargers.filtersets import CommandFilterSet as CommandFilter
from chargers.filtersets import ConnectorStatusChangeFilterSet as ConnectorStatusChangeFilter
from chargers.filtersets import IdTagFilterSet as IdTagFilter

__all__ = [
    "CONNECTOR_STATUSES",
    "BooleanFilter",
    "ChargePointFilter",
    "CommandFilter",
    "ConnectorStatusChangeFilter",
    "IdTagFilter",
    "IntegerFilter",
    "IsoDateTimeFilter",
    "StrictBooleanField",
    "StrictBooleanWidget",
    "UTCIsoDateTimeField",
]
