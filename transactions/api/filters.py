"""FilterSets of the sessions API."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters

from chargers.api.filters import BooleanFilter, IntegerFilter, IsoDateTimeFilter
from transactions.models import MeterValue, Transaction


class TransactionFilter(filters.FilterSet):
    charge_point = filters.CharFilter(field_name="charge_point__charge_point_id", help_text="Charge point id")
    connector = IntegerFilter(field_name="connector_id", help_text="Connector id", min_value=0, max_value=2**31 - 1)
    id_tag = filters.CharFilter(help_text="The id tag that started the session")
    active = BooleanFilter(method="filter_active", help_text="Still charging (no StopTransaction yet)")
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte", help_text="Inclusive")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt", help_text="Exclusive")
    stopped_after = IsoDateTimeFilter(field_name="stopped_at", lookup_expr="gte", help_text="Inclusive")
    stopped_before = IsoDateTimeFilter(field_name="stopped_at", lookup_expr="lt", help_text="Exclusive")

    class Meta:
        model = Transaction
        fields = [
            "charge_point",
            "connector",
            "id_tag",
            "active",
            "started_after",
            "started_before",
            "stopped_after",
            "stopped_before",
        ]

    def filter_active(self, queryset: QuerySet[Transaction], name: str, value: bool | None) -> QuerySet[Transaction]:
        if value is None:
            return queryset
        return queryset.filter(stopped_at__isnull=value)


class MeterValueFilter(filters.FilterSet):
    measurand = filters.MultipleChoiceFilter(
        choices=[
            (m, m)
            for m in (
                "Current.Export",
                "Current.Import",
                "Current.Offered",
                "Energy.Active.Export.Register",
                "Energy.Active.Import.Register",
                "Energy.Reactive.Export.Register",
                "Energy.Reactive.Import.Register",
                "Energy.Active.Export.Interval",
                "Energy.Active.Import.Interval",
                "Energy.Reactive.Export.Interval",
                "Energy.Reactive.Import.Interval",
                "Frequency",
                "Power.Active.Export",
                "Power.Active.Import",
                "Power.Factor",
                "Power.Offered",
                "Power.Reactive.Export",
                "Power.Reactive.Import",
                "RPM",
                "SoC",
                "Temperature",
                "Voltage",
            )
        ],
        help_text="OCPP measurand (repeat for several)",
    )
    phase = filters.CharFilter(help_text="L1, L2, L3, N, L1-N, ...")
    context = filters.CharFilter(help_text="Sample.Periodic, Transaction.Begin, ...")
    after = IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte", help_text="Inclusive (charger's clock)")
    before = IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt", help_text="Exclusive (charger's clock)")

    class Meta:
        model = MeterValue
        fields = ["measurand", "phase", "context", "after", "before"]
