"""Serializers of the fleet API: explicit fields, one input serializer per write."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from chargers import ports
from chargers.models import (
    ID_TOKEN_MAX_LENGTH,
    ChargePoint,
    Command,
    Connector,
    ConnectorStatusChange,
    DeviceVariable,
    Evse,
    IdTag,
    Reservation,
)
from chargers.ports import CommandRequest, ProtocolPort, Shortcuts
from chargers.services import id_tag_case_clash
from fleet.selectors import EvseView, charger_evses
from transactions.models import Transaction

# A command may wait at most a week for its charger.
MAX_EXPIRES_IN = 7 * 24 * 3600


def json_storable(value: Any) -> Any:
    """Refuse JSON that PostgreSQL cannot store (NUL characters, lone surrogates) with a 400."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError):
        raise serializers.ValidationError("must be JSON that can be stored (valid Unicode text)") from None
    if "\\u0000" in text or "\x00" in text:
        raise serializers.ValidationError("must not contain NUL characters")
    return value


def offered(port: ProtocolPort | None, values: Callable[[ProtocolPort], Iterable[str]]) -> list[str]:
    """What a choice field offers: the charger's version's values, or (no charger known, as when the
    OpenAPI document is built) those of every version this CSMS speaks. The lists are the protocol
    packages' (through ``chargers.ports``), never spelled here."""
    chosen = [port] if port is not None else [ports.port_for(version) for version in ports.versions()]
    return list(dict.fromkeys(value for each in chosen for value in values(each)))


def choices(field: serializers.Field, values: list[str]) -> None:
    """Set a choice field's choices once the serializer exists (the ports are registered by then)."""
    assert isinstance(field, serializers.ChoiceField)
    field.choices = values


class ConnectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Connector
        fields = [
            "connector_id",
            "evse_id",
            "status",
            "error_code",
            "info",
            "vendor_id",
            "vendor_error_code",
            "charger_timestamp",
            "status_updated_at",
        ]
        read_only_fields = fields


class EvseSerializer(serializers.Serializer):
    """An EVSE and its connectors (``fleet.selectors.EvseView``). 1.6: each connector is an EVSE of its own."""

    evse_id = serializers.IntegerField(read_only=True, help_text="The charger's EVSE number; 0 is the station")
    availability = serializers.ChoiceField(
        choices=Evse.Availability.choices, read_only=True, help_text="As the last accepted ChangeAvailability set it"
    )
    connectors = ConnectorSerializer(many=True, read_only=True, help_text="2.0.1: numbered within the EVSE")


class ReservationSerializer(serializers.ModelSerializer):
    """A reservation asked of a charger (ReserveNow) and where it stands: both versions in one shape."""

    class Meta:
        model = Reservation
        fields = [
            "reservation_id",
            "evse_id",
            "connector_id",
            "connector_type",
            "id_tag",
            "id_token_type",
            "parent_id_tag",
            "parent_id_token_type",
            "expiry_date",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DeviceVariableSerializer(serializers.ModelSerializer):
    """One attribute of a variable of a component of a 2.0.1 station's device model, as last reported."""

    class Meta:
        model = DeviceVariable
        fields = [
            "component",
            "component_instance",
            "evse_id",
            "connector_id",
            "variable",
            "variable_instance",
            "attribute_type",
            "value",
            "mutability",
            "persistent",
            "constant",
            "unit",
            "data_type",
            "min_limit",
            "max_limit",
            "values_list",
            "supports_monitoring",
            "updated_at",
        ]
        read_only_fields = fields


class ConnectorStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConnectorStatusChange
        fields = [
            "id",
            "status",
            "error_code",
            "info",
            "vendor_id",
            "vendor_error_code",
            "charger_timestamp",
            "received_at",
        ]
        read_only_fields = fields


class CurrentSessionSerializer(serializers.ModelSerializer):
    """A charging session still open on the charger (details at /transactions/{id}/)."""

    url = serializers.HyperlinkedIdentityField(view_name="api-transaction-detail")
    transaction_id = serializers.CharField(
        read_only=True, help_text="The id the charger knows it by: its own (2.0.1) or `id` (1.6)"
    )

    class Meta:
        model = Transaction
        fields = ["id", "url", "transaction_id", "evse_id", "connector_id", "id_tag", "started_at", "meter_start"]
        read_only_fields = fields


_CHARGE_POINT_FIELDS = [
    "charge_point_id",
    "url",
    "registration_status",
    "online",
    "ocpp_version",
    "vendor",
    "model",
    "serial_number",
    "firmware_version",
    "heartbeat_interval",
    "last_seen_at",
    "last_heartbeat_at",
    "last_boot_at",
    "demo",
    "created_at",
]


class ChargePointSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-charger-detail", lookup_field="charge_point_id")

    class Meta:
        model = ChargePoint
        fields = _CHARGE_POINT_FIELDS
        read_only_fields = fields


class ChargePointDetailSerializer(ChargePointSerializer):
    connectors = ConnectorSerializer(many=True, read_only=True)
    evses = serializers.SerializerMethodField(help_text="Its EVSEs with their connectors (as /evses/)")
    current_sessions = CurrentSessionSerializer(many=True, read_only=True, source="active_transactions")

    class Meta:
        model = ChargePoint
        fields = [
            *_CHARGE_POINT_FIELDS,
            "charge_box_serial_number",
            "iccid",
            "imsi",
            "meter_type",
            "meter_serial_number",
            "dialect",
            "transport",
            "first_boot_at",
            "last_connected_at",
            "last_disconnected_at",
            "last_disconnect_reason",
            "updated_at",
            "connectors",
            "evses",
            "current_sessions",
        ]
        read_only_fields = fields

    @extend_schema_field(EvseSerializer(many=True))
    def get_evses(self, obj: ChargePoint) -> list[dict[str, Any]]:
        # From the prefetched connectors and the EVSE annotation (the view reads both): no query of its own.
        views: list[EvseView] = charger_evses(obj, obj.connectors.all())
        return list(EvseSerializer(views, many=True, context=self.context).data)


class CommandSerializer(serializers.ModelSerializer):
    """A command and its lifecycle: queued -> sent -> accepted/rejected/failed/timed_out, or expired/cancelled."""

    url = serializers.HyperlinkedIdentityField(view_name="api-command-detail")
    charge_point_id = serializers.CharField(source="charge_point.charge_point_id", read_only=True)
    request = serializers.JSONField(read_only=True, help_text="The OCPP request payload sent")
    response = serializers.JSONField(read_only=True, allow_null=True, help_text="The charger's CallResult payload")
    transaction: serializers.PrimaryKeyRelatedField[Transaction] = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The session an accepted remote start (1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction) "
        "started, once it did (null until then)",
    )

    class Meta:
        model = Command
        fields = [
            "id",
            "url",
            "charge_point_id",
            "action",
            "status",
            "message_id",
            "request",
            "response",
            "error_code",
            "error_description",
            "requested_by",
            "transaction",
            "created_at",
            "sent_at",
            "completed_at",
            "expires_at",
        ]
        read_only_fields = fields


class ExpiresInMixin(serializers.Serializer):
    expires_in = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_EXPIRES_IN,
        help_text="Seconds the command may wait for its charger before it expires (default: server setting)",
    )


@extend_schema_serializer(deprecate_fields=["charge_point"])
class CommandCreateSerializer(ExpiresInMixin):
    """A command to queue. The charger is ``charge_point_id``, as every response names it."""

    charge_point_id = serializers.SlugRelatedField(
        slug_field="charge_point_id",
        queryset=ChargePoint.objects.all(),
        required=False,
        help_text="Charge point id (required; `charge_point` is its deprecated spelling)",
    )
    # The name this endpoint took before it matched its responses: still read so existing
    # integrations keep working, marked deprecated in the schema. Removal is a breaking change.
    charge_point = serializers.SlugRelatedField(
        slug_field="charge_point_id",
        queryset=ChargePoint.objects.all(),
        required=False,
        help_text="Deprecated: use `charge_point_id`",
    )
    action = serializers.ChoiceField(
        choices=[],
        help_text="A CSMS-initiated OCPP action of the charger's version (its `ocpp_version`), as that version "
        "spells it: 1.6 RemoteStartTransaction, 2.0.1 RequestStartTransaction...",
    )
    payload = serializers.DictField(
        required=False,
        default=dict,
        help_text="The OCPP request payload, as the schema of the action in the charger's version has it",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any action of any version this CSMS speaks; validate() narrows it to the charger's.
        choices(self.fields["action"], sorted(offered(None, lambda port: port.commands)))

    def validate_payload(self, value: dict[str, Any]) -> dict[str, Any]:
        return json_storable(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        new, old = attrs.pop("charge_point_id", None), attrs.pop("charge_point", None)
        if new is None and old is None:
            raise serializers.ValidationError({"charge_point_id": ["This field is required."]})
        if new is not None and old is not None and new != old:
            raise serializers.ValidationError(
                {"charge_point": ["names another charge point than charge_point_id; send only charge_point_id"]}
            )
        charge_point = attrs["charge_point"] = new or old
        try:
            commands = ports.port_of(charge_point).commands
        except LookupError as exc:
            raise serializers.ValidationError({"charge_point_id": [str(exc)]}) from None
        if attrs["action"] not in commands:
            raise serializers.ValidationError(
                {"action": [f"not a command of OCPP {charge_point.ocpp_version}, which {charge_point} speaks"]}
            )
        return attrs

    def command(self) -> CommandRequest:
        """The command as it was asked for: any action, any payload (``command_enqueue`` checks both)."""
        return CommandRequest(self.validated_data["action"], self.validated_data["payload"])


class ShortcutSerializer(ExpiresInMixin):
    """The input of one operator shortcut: its fields validated here, its payload built by the charger's
    version (``chargers.ports.Shortcuts``), so the API never spells an OCPP payload itself.

    ``context["port"]`` is the charger's ``ProtocolPort`` (the view passes it); without one (the
    OpenAPI document) the choices are those of every version.
    """

    @property
    def port(self) -> ProtocolPort | None:
        port: ProtocolPort | None = self.context.get("port")
        return port

    def command(self, shortcuts: Shortcuts) -> CommandRequest:
        raise NotImplementedError


# What a shortcut's `connector_id` is, in each version (the port builds the payload).
CONNECTOR_ID_HELP = "1.6: the connector id; 2.0.1: the EVSE id (the station picks the connector on it)"


class RemoteStartSerializer(ShortcutSerializer):
    # 2.1's idToken takes 255 characters; each version's schema (1.6: 20, 2.0.1: 36) is checked when it is queued.
    id_tag = serializers.CharField(
        max_length=ID_TOKEN_MAX_LENGTH, help_text="The id token to charge with (1.6: at most 20 characters, 2.0.1: 36)"
    )
    connector_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text=CONNECTOR_ID_HELP + "; absent: the charger picks"
    )
    charging_profile = serializers.DictField(
        required=False, help_text="The version's TxProfile (1.6 csChargingProfiles, 2.0.1 ChargingProfileType)"
    )

    def validate_charging_profile(self, value: dict[str, Any]) -> dict[str, Any]:
        return json_storable(value)

    def command(self, shortcuts: Shortcuts) -> CommandRequest:
        data = self.validated_data
        return shortcuts.remote_start(
            id_tag=data["id_tag"], connector_id=data.get("connector_id"), charging_profile=data.get("charging_profile")
        )


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, {"type": "string", "maxLength": 36}]}
)
class SessionIdField(serializers.Field):
    """A session of this charger, by this API's ``id`` (a number) or its ``transaction_id`` (a string).

    A number is always the session's ``id``. A string is first the charger's own transactionId (2.0.1),
    then, if all digits, an ``id`` (so a 1.6 session's ``transaction_id`` "7" names session 7).
    """

    default_error_messages = {
        "invalid": "must be a session's id (a number) or its transaction_id (a string of at most 36 characters)",
        "unknown": "no session of this charge point has transaction_id {value!r}",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            if not 1 <= data <= 2**31 - 1:
                self.fail("invalid")
            return data
        if not isinstance(data, str) or not data or len(data) > 36 or "\x00" in data:
            self.fail("invalid")
        charge_point = self.context.get("charge_point")
        if charge_point is not None:
            pk = (
                Transaction.objects.filter(charge_point=charge_point, charger_transaction_id=data)
                .values_list("pk", flat=True)
                .first()
            )
            if pk is not None:
                return pk
        if data.isascii() and data.isdigit() and 1 <= int(data) <= 2**31 - 1:
            return int(data)
        self.fail("unknown", value=data)
        raise AssertionError  # fail() raised

    def to_representation(self, value: Any) -> Any:
        return value


class RemoteStopSerializer(ShortcutSerializer):
    transaction_id = SessionIdField(
        help_text="The session: its `id` in this API (a number), or its `transaction_id` (a string: the charger's "
        "own id for 2.0.1)"
    )

    def command(self, shortcuts: Shortcuts) -> CommandRequest:
        return shortcuts.remote_stop(transaction_id=self.validated_data["transaction_id"])


class ResetSerializer(ShortcutSerializer):
    # The API's words (its contract since 1.0), which the builder turns into the version's.
    type = serializers.ChoiceField(
        choices=["Soft", "Hard"], default="Soft", help_text="2.0.1: Soft is an OnIdle reset, Hard an Immediate one"
    )

    def command(self, shortcuts: Shortcuts) -> CommandRequest:
        return shortcuts.reset(hard=self.validated_data["type"] == "Hard")


class UnlockSerializer(ShortcutSerializer):
    connector_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text=CONNECTOR_ID_HELP)

    def command(self, shortcuts: Shortcuts) -> CommandRequest:
        return shortcuts.unlock(connector_id=self.validated_data["connector_id"])


class AvailabilitySerializer(ShortcutSerializer):
    connector_id = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, help_text="0: the whole charger; else " + CONNECTOR_ID_HELP
    )
    # The API's words, as for ResetSerializer.type.
    type = serializers.ChoiceField(choices=["Operative", "Inoperative"])

    def command(self, shortcuts: Shortcuts) -> CommandRequest:
        data = self.validated_data
        return shortcuts.availability(connector_id=data["connector_id"], operative=data["type"] == "Operative")


class TriggerSerializer(ShortcutSerializer):
    requested_message = serializers.ChoiceField(choices=[], help_text="A message the charger's version can trigger")
    connector_id = serializers.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, help_text=CONNECTOR_ID_HELP + "; absent: the charger"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices(self.fields["requested_message"], offered(self.port, lambda port: port.trigger_messages))

    def command(self, shortcuts: Shortcuts) -> CommandRequest:
        data = self.validated_data
        return shortcuts.trigger(message=data["requested_message"], connector_id=data.get("connector_id"))


class IdTagSerializer(serializers.ModelSerializer):
    # The model's field name; it shadows Field.parent (the enclosing serializer) only for type checkers.
    parent = serializers.SlugRelatedField(  # type: ignore[assignment]
        slug_field="id_tag",
        queryset=IdTag.objects.all(),
        required=False,
        allow_null=True,
        help_text="The parent's id tag (a group: OCPP parentIdTag)",
    )

    class Meta:
        model = IdTag
        fields = ["id_tag", "type", "status", "expiry_date", "parent", "note", "demo", "created_at", "updated_at"]
        # demo is set by demo_fleet_provision (make run's simulated fleet), not by API clients.
        read_only_fields = ["demo", "created_at", "updated_at"]

    def validate_id_tag(self, value: str) -> str:
        if "/" in value:
            raise serializers.ValidationError("must not contain '/' (it is used in URLs)")
        if value != value.strip() or not value:
            raise serializers.ValidationError("must not be blank or start or end with spaces")
        existing = id_tag_case_clash(id_tag=value)
        if existing is not None and existing != value:
            # The same value exactly is the field's own unique check; another case is the same token (OCPP).
            raise serializers.ValidationError(
                f"an id token {existing!r} exists already: id tokens match whatever their case (OCPP)"
            )
        return value


class IdTagUpdateSerializer(IdTagSerializer):
    class Meta(IdTagSerializer.Meta):
        read_only_fields = ["id_tag", "demo", "created_at", "updated_at"]


class RegistrationSerializer(serializers.Serializer):
    """No input: the action's URL says what to do."""
