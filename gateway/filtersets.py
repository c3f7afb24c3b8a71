"""FilterSets of the gateway's models (the charger credentials API)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from chargers.filtersets import BooleanFilter
from gateway.models import ChargerCredential


class ChargerCredentialFilterSet(filters.FilterSet):
    """Charger credentials (Basic auth of the gateway's websocket)."""

    search = filters.CharFilter(field_name="charge_point_id", lookup_expr="icontains")
    enabled = BooleanFilter()

    class Meta:
        model = ChargerCredential
        fields = ["search", "enabled"]
