"""Serializers of the tariffs API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chargers.models import ChargePoint
from tariffs.models import ChargerGroup, Tariff


class TariffSerializer(serializers.ModelSerializer):
    """A tariff. Its scope: ``charge_point_id`` (one charger), ``group`` (a group of chargers) or neither
    (the default)."""

    charge_point_id = serializers.SlugRelatedField(
        source="charge_point",
        slug_field="charge_point_id",
        queryset=ChargePoint.objects.all(),
        required=False,
        allow_null=True,
        help_text="The charger it prices (leave out with `group` for the default tariff)",
    )
    scope = serializers.CharField(read_only=True, help_text="charger, group or default")

    class Meta:
        model = Tariff
        fields = [
            "id",
            "name",
            "currency",
            "energy_price",
            "time_price",
            "session_fee",
            "scope",
            "charge_point_id",
            "group",
            "valid_from",
            "valid_to",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "scope", "created_at", "updated_at"]
        extra_kwargs = {
            "energy_price": {"min_value": 0},
            "time_price": {"min_value": 0},
            "session_fee": {"min_value": 0},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def value(name: str) -> Any:
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, None)

        if value("charge_point") is not None and value("group") is not None:
            raise serializers.ValidationError(
                {"group": ["a tariff prices one charger or one group, not both (neither: the default tariff)"]}
            )
        start, end = value("valid_from"), value("valid_to")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"valid_to": ["must be after valid_from"]})
        return attrs


class ChargerGroupSerializer(serializers.ModelSerializer):
    """A group of chargers sharing a tariff; ``charge_point_ids`` replaces its members (a charger moves
    from the group it was in: one group per charger)."""

    charge_point_ids = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        max_length=10000,
        help_text="Its chargers' ids",
    )

    class Meta:
        model = ChargerGroup
        fields = ["id", "name", "description", "charge_point_ids", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance: ChargerGroup) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["charge_point_ids"] = sorted(member.charge_point.charge_point_id for member in instance.members.all())
        return data

    def validate_charge_point_ids(self, value: list[str]) -> list[ChargePoint]:
        found = {cp.charge_point_id: cp for cp in ChargePoint.objects.filter(charge_point_id__in=value)}
        unknown = sorted(set(value) - set(found))
        if unknown:
            raise serializers.ValidationError(f"unknown charge points: {', '.join(unknown[:20])}")
        return list(found.values())
