"""FilterSets of operator alerts (the API; the dashboard panels use ``alerts.selectors``)."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from chargers.filtersets import BooleanFilter

from .models import Alert


class AlertFilterSet(filters.FilterSet):
    """Alerts by state (``acknowledged=false``: the open ones), charger, kind and severity."""

    acknowledged = BooleanFilter(method="filter_acknowledged")
    charge_point_id = filters.CharFilter(field_name="charge_point__charge_point_id")
    kind = filters.CharFilter()
    severity = filters.ChoiceFilter(choices=Alert.Severity.choices)

    class Meta:
        model = Alert
        fields = ["acknowledged", "charge_point_id", "kind", "severity"]

    def filter_acknowledged(self, queryset: QuerySet[Alert], name: str, value: bool | None) -> QuerySet[Alert]:
        if value is None:
            return queryset
        return queryset.filter(acknowledged_at__isnull=not value)
