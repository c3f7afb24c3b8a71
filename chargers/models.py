"""The fleet: charge points, their connectors, id tags, events and the commands we send them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

#: The longest id token any version takes (OCPP 2.1's idToken: 255; 2.0.1 36, 1.6 20). Each version's
#: schema bounds its own messages; the columns hold the longest.
ID_TOKEN_MAX_LENGTH = 255
#: The longest id token type (2.1: a string of 20, its IdTokenEnumType values or a custom one; 2.0.1 an enum).
ID_TOKEN_TYPE_MAX_LENGTH = 20


class RegistrationStatus(models.TextChoices):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class ChargePoint(models.Model):
    """One charging station, identified by the id it uses in its WebSocket URL / MQTT topic.

    Identity fields come from the last BootNotification; ``registration_status`` is ours (the
    boot policy, then an operator's decision) and is what the next BootNotification is answered with.
    """

    charge_point_id = models.CharField(max_length=48, unique=True)
    registration_status = models.CharField(
        max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.PENDING
    )
    ocpp_version = models.CharField(max_length=8, default="1.6")
    dialect = models.CharField(max_length=16, default="emqx", help_text="Payload encoding of its gateway")
    # The transport of the route it last spoke on: its replies and commands go back the same way.
    transport = models.CharField(max_length=16, default="mqtt", help_text="Transport of the route it last spoke on")

    # 2.0.1's chargingStation.vendorName takes 50 characters (1.6's chargePointVendor 20).
    vendor = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=20, blank=True)
    serial_number = models.CharField(max_length=25, blank=True)
    charge_box_serial_number = models.CharField(max_length=25, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    iccid = models.CharField(max_length=20, blank=True)
    imsi = models.CharField(max_length=20, blank=True)
    meter_type = models.CharField(max_length=25, blank=True)
    meter_serial_number = models.CharField(max_length=25, blank=True)

    heartbeat_interval = models.PositiveIntegerField(default=300)
    first_boot_at = models.DateTimeField(null=True, blank=True)
    last_boot_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    online = models.BooleanField(default=False)
    last_connected_at = models.DateTimeField(null=True, blank=True)
    last_disconnected_at = models.DateTimeField(null=True, blank=True)
    last_disconnect_reason = models.CharField(max_length=100, blank=True)
    local_list_version = models.IntegerField(null=True, blank=True, help_text="Of its local authorization list")
    reset_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="An accepted Reset waiting for the charger's reboot"
    )
    demo = models.BooleanField(
        default=False, help_text="Demo data: a simulated charger `make run` provisioned (demo_fleet_provision)"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charge_point_id"]
        indexes = [
            models.Index(fields=["registration_status"]),
            # Not last_seen_at: every message updates it, and an indexed column makes each of those
            # UPDATEs write a new entry in every index of the table (no HOT update).
            models.Index(fields=["online"]),
            models.Index(fields=["vendor", "model"]),
        ]

    def __str__(self) -> str:
        return self.charge_point_id


class Evse(models.Model):
    """An EVSE of a charge point: the level between the station and its connectors; EVSE 0 is the station.

    OCPP 2.0.1 numbers connectors within their EVSE (EVSE 2 connector 1). A 1.6 charger has no EVSEs:
    each of its connectors is an EVSE of its own with the same number (connector 2 is EVSE 2 connector 2,
    connector 0 EVSE 0), so sessions, meter values and filters say "EVSE" for both versions. Rows are
    made when a connector of the EVSE first reports its status (or an answered command names it).
    """

    class Availability(models.TextChoices):
        OPERATIVE = "Operative"
        INOPERATIVE = "Inoperative"

    # No index of its own: uniq_evse_per_cp (charge_point, evse_id) serves it.
    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="evses", db_index=False)
    evse_id = models.PositiveIntegerField(help_text="The charger's EVSE number (1.6: the connector id)")
    availability = models.CharField(
        max_length=12,
        choices=Availability.choices,
        default=Availability.OPERATIVE,
        help_text="As the last accepted ChangeAvailability set it",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["charge_point", "evse_id"]
        verbose_name = "EVSE"
        constraints = [models.UniqueConstraint(fields=["charge_point", "evse_id"], name="uniq_evse_per_cp")]

    def __str__(self) -> str:
        return f"{self.charge_point_id} EVSE {self.evse_id}"


class Connector(models.Model):
    """A connector of a charge point, on its EVSE; connector 0 (EVSE 0) stands for the charge point as a whole.

    ``evse_id`` is the EVSE's number (see ``Evse``): 1.6 connectors have ``evse_id == connector_id``.
    """

    # No index of its own: uniq_connector_per_cp (charge_point, evse_id, connector_id) serves it.
    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="connectors", db_index=False)
    evse_id = models.PositiveIntegerField(default=0, help_text="Its EVSE's number (1.6: the connector id)")
    connector_id = models.PositiveIntegerField(help_text="1.6: the charger's connector id; 2.0.1: the id on its EVSE")
    status = models.CharField(max_length=20, default="Unknown")
    error_code = models.CharField(max_length=30, default="NoError")
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    charger_timestamp = models.DateTimeField(null=True, blank=True, help_text="The charger's clock")
    status_updated_at = models.DateTimeField(null=True, blank=True, help_text="Our clock")

    class Meta:
        ordering = ["charge_point", "connector_id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "evse_id", "connector_id"], name="uniq_connector_per_cp"),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        if self.evse_id == self.connector_id:
            return f"{self.charge_point_id}#{self.connector_id}"
        return f"{self.charge_point_id}#{self.evse_id}.{self.connector_id}"


class ConnectorStatusChange(models.Model):
    """Status history: one row per StatusNotification received."""

    # No index of its own: the (connector, -received_at) index serves it.
    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="status_history", db_index=False)
    status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=30)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    charger_timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["connector", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.connector} {self.status} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class AuthorizationStatus(models.TextChoices):
    """Every status OCPP 2.0.1 answers about a token; 1.6 has the first five (see ``V16_STATUSES``)."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"
    NO_CREDIT = "NoCredit"
    NOT_ALLOWED_TYPE_EVSE = "NotAllowedTypeEVSE"
    NOT_AT_THIS_LOCATION = "NotAtThisLocation"
    NOT_AT_THIS_TIME = "NotAtThisTime"
    UNKNOWN = "Unknown"


#: The statuses 1.6's IdTagInfo knows; a 2.0.1-only status of a stored tag reaches a 1.6 charger as Blocked.
V16_STATUSES = frozenset({"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"})


#: What a stored token can be (ConcurrentTx and Unknown are answers about a request, not a token's state).
ID_TAG_STATUSES = [
    choice
    for choice in AuthorizationStatus.choices
    if choice[0] not in (AuthorizationStatus.CONCURRENT_TX, AuthorizationStatus.UNKNOWN)
]


class IdTokenType(models.TextChoices):
    """OCPP 2.0.1's IdTokenEnumType: how the charger read the token."""

    CENTRAL = "Central"
    EMAID = "eMAID"
    ISO14443 = "ISO14443"
    ISO15693 = "ISO15693"
    KEY_CODE = "KeyCode"
    LOCAL = "Local"
    MAC_ADDRESS = "MacAddress"
    NO_AUTHORIZATION = "NoAuthorization"


class IdTag(models.Model):
    """An id token a driver authorizes with (an RFID card, an app's id, a contract id), for both versions.

    One table: a token's value is unique whatever its type (a card number names one card) and whatever its
    case (uniq_id_tag_upper: both versions say tokens are case-insensitive; kept as written). 1.6 has no
    types and looks a tag up by value; 2.0.1 asks for a value and a type, and a token stored with another
    type is answered as unknown. ``parent`` is 1.6's parentIdTag and 2.0.1's groupIdToken.
    """

    # 2.0.1's IdTokenType.idToken takes 36 characters (1.6's idTag 20).
    id_tag = models.CharField(max_length=ID_TOKEN_MAX_LENGTH, unique=True, verbose_name="id token")
    type = models.CharField(
        max_length=16, choices=IdTokenType.choices, default=IdTokenType.ISO14443, help_text="2.0.1 IdTokenEnumType"
    )
    status = models.CharField(max_length=20, choices=ID_TAG_STATUSES, default=AuthorizationStatus.ACCEPTED)
    expiry_date = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    note = models.CharField(max_length=200, blank=True)
    demo = models.BooleanField(
        default=False, help_text="Demo data: a tag of the simulated fleet `make run` provisioned (demo_fleet_provision)"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id_tag"]
        verbose_name = "ID tag"
        constraints = [
            # Tokens match whatever their case (1.6 CiString20Type, 2.0.1 idToken "case insensitive"): two that
            # differ only by case would be one token twice. Also the index every authorization looks up by.
            models.UniqueConstraint(
                Upper("id_tag"),
                name="uniq_id_tag_upper",
                violation_error_message="An id token with this value in another case exists already.",
            ),
        ]

    def __str__(self) -> str:
        return self.id_tag


class ChargerEvent(models.Model):
    """A notification that is a fact to keep but changes no other state.

    Firmware and diagnostics status, security events, log upload status, signed firmware status,
    DataTransfer from the charger, and StopTransactions for transactions we do not know.
    """

    class Kind(models.TextChoices):
        FIRMWARE_STATUS = "firmware_status"
        SIGNED_FIRMWARE_STATUS = "signed_firmware_status"
        DIAGNOSTICS_STATUS = "diagnostics_status"
        LOG_STATUS = "log_status"
        SECURITY = "security"
        DATA_TRANSFER = "data_transfer"
        UNKNOWN_TRANSACTION_STOP = "unknown_transaction_stop"
        # 2.0.1: NotifyEvent (a device model event), and the notifications later issues give their meaning
        # (NotifyChargingLimit, NotifyCustomerInformation, ...: ``status`` is the action).
        NOTIFY_EVENT = "notify_event"
        NOTIFICATION = "notification"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=64, blank=True, help_text="Status or event type")
    detail = models.JSONField(default=dict, blank=True)
    charger_timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["charge_point", "kind", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.charge_point_id} {self.kind} {self.status}"


class Command(models.Model):
    """A Call we send to a charge point, with its lifecycle.

    At most one command per charger is ``sent`` at a time (OCPP allows one outstanding Call and
    the gateways do not queue for us); the rest wait ``queued``. A CallResult or CallError is
    matched to the command by (charge point, message id).
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        FAILED = "failed"
        TIMED_OUT = "timed_out"
        EXPIRED = "expired"
        CANCELLED = "cancelled"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="commands")
    action = models.CharField(max_length=64)
    message_id = models.CharField(max_length=36, unique=True)
    request = models.JSONField(default=dict)
    response = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error_code = models.CharField(max_length=40, blank=True)
    error_description = models.TextField(blank=True)
    requested_by = models.CharField(max_length=150, blank=True)
    transaction = models.ForeignKey(
        "transactions.Transaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="remote_start_commands",
        help_text="The session an accepted RemoteStartTransaction caused",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The OCPP rule "one outstanding Call per charger" as a database fact.
            models.UniqueConstraint(
                fields=["charge_point"], condition=Q(status="sent"), name="one_sent_command_per_cp"
            ),
        ]
        indexes = [models.Index(fields=["charge_point", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.action} -> {self.charge_point_id} ({self.status})"


class ConfigurationKey(models.Model):
    """A configuration key as the charger last reported it (GetConfiguration) or accepted it."""

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="configuration")
    key = models.CharField(max_length=50)
    value = models.CharField(max_length=500, null=True, blank=True)
    readonly = models.BooleanField(default=False)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["charge_point", "key"]
        constraints = [models.UniqueConstraint(fields=["charge_point", "key"], name="uniq_configuration_key")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class Reservation(models.Model):
    """An EVSE (or any EVSE, or one with a connector type) reserved for an id token (ReserveNow), until
    used, cancelled or expired.

    1.6 reserves a connector (``connector_id``; 0: the charge point as a whole); its connector is its
    EVSE (``evse_id`` = the connector, None for 0). 2.0.1 reserves an EVSE (``evse_id``), any EVSE
    (None), or any EVSE with a connector of ``connector_type``; it names no connector (``connector_id`` 0).
    ``parent_id_tag`` is 1.6's parentIdTag and 2.0.1's groupIdToken.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        USED = "used"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="reservations")
    reservation_id = models.IntegerField(help_text="The id the charger knows it by")
    connector_id = models.PositiveIntegerField()
    evse_id = models.PositiveIntegerField(null=True, blank=True, help_text="None: any EVSE of the station")
    connector_type = models.CharField(max_length=20, blank=True, help_text="2.0.1 ConnectorEnumType; blank: any")
    id_tag = models.CharField(max_length=ID_TOKEN_MAX_LENGTH)
    id_token_type = models.CharField(
        max_length=ID_TOKEN_TYPE_MAX_LENGTH,
        choices=IdTokenType.choices,
        blank=True,
        help_text="2.0.1 IdTokenEnumType; blank for 1.6",
    )
    parent_id_tag = models.CharField(max_length=ID_TOKEN_MAX_LENGTH, blank=True)
    parent_id_token_type = models.CharField(
        max_length=ID_TOKEN_TYPE_MAX_LENGTH, choices=IdTokenType.choices, blank=True
    )
    expiry_date = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "reservation_id"], name="uniq_reservation_per_cp")
        ]

    def __str__(self) -> str:
        where = "any EVSE" if self.evse_id is None else f"EVSE {self.evse_id}"
        return f"reservation {self.reservation_id} on {self.charge_point_id} {where} ({self.status})"


class ChargingProfile(models.Model):
    """A charging profile a charger holds: one it accepted (SetChargingProfile, 1.6 and 2.0.1), or one a 2.0.1
    station reported (ReportChargingProfiles), until cleared, replaced or reported gone.

    ``connector_id`` is the 1.6 connector and the 2.0.1 EVSE (0: the whole charger), as everywhere else
    (``Evse``); ``evse_id`` reads it so. ``profile`` is the profile as the wire carries it (1.6
    csChargingProfiles, 2.0.1 ChargingProfileType).
    """

    class Source(models.TextChoices):
        CSMS = "csms", "set by the CSMS"
        STATION = "station", "reported by the station"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="charging_profiles")
    connector_id = models.PositiveIntegerField(help_text="1.6: the connector; 2.0.1: the EVSE (0: the charger)")
    profile_id = models.IntegerField()
    stack_level = models.PositiveIntegerField()
    purpose = models.CharField(max_length=40)
    profile = models.JSONField(help_text="The profile as sent or reported")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CSMS)
    charging_limit_source = models.CharField(
        max_length=8, blank=True, help_text="2.0.1: who set it, as reported (CSO, EMS, SO, Other)"
    )
    transaction = models.ForeignKey(
        "transactions.Transaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="charging_profiles",
        help_text="A TxProfile's session",
    )
    request_id = models.IntegerField(
        null=True, blank=True, help_text="2.0.1: the report (GetChargingProfiles) it came in"
    )
    remote_start_id = models.IntegerField(
        null=True, blank=True, help_text="2.0.1: the RequestStartTransaction it came in (its session has this id)"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["charge_point", "connector_id", "-stack_level"]
        indexes = [models.Index(fields=["charge_point", "active"])]

    def __str__(self) -> str:
        return f"profile {self.profile_id} ({self.purpose}) on {self.charge_point_id}#{self.connector_id}"

    @property
    def evse_id(self) -> int:
        """The 2.0.1 EVSE the profile is on (0: the station)."""
        return self.connector_id


class DeviceVariable(models.Model):
    """One attribute of a variable of a component of a 2.0.1 station's device model (NotifyReport, GetVariables).

    What 1.6's ``ConfigurationKey`` is for 1.6: the station's own description of itself, kept as it last
    reported it, with the characteristics (unit, data type, limits) of its report.
    """

    class AttributeType(models.TextChoices):
        ACTUAL = "Actual"
        TARGET = "Target"
        MIN_SET = "MinSet"
        MAX_SET = "MaxSet"

    class Mutability(models.TextChoices):
        READ_ONLY = "ReadOnly"
        WRITE_ONLY = "WriteOnly"
        READ_WRITE = "ReadWrite"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="device_variables")
    component = models.CharField(max_length=50)
    component_instance = models.CharField(max_length=50, blank=True)
    evse_id = models.PositiveIntegerField(null=True, blank=True, help_text="The component's EVSE, if any")
    connector_id = models.PositiveIntegerField(null=True, blank=True, help_text="The component's connector, if any")
    variable = models.CharField(max_length=50)
    variable_instance = models.CharField(max_length=50, blank=True)
    attribute_type = models.CharField(max_length=8, choices=AttributeType.choices, default=AttributeType.ACTUAL)
    value = models.CharField(max_length=2500, null=True, blank=True, help_text="As reported (None: not reported)")
    mutability = models.CharField(max_length=9, choices=Mutability.choices, blank=True)
    persistent = models.BooleanField(null=True, blank=True)
    constant = models.BooleanField(null=True, blank=True)
    # variableCharacteristics
    unit = models.CharField(max_length=16, blank=True)
    data_type = models.CharField(max_length=20, blank=True)
    min_limit = models.FloatField(null=True, blank=True)
    max_limit = models.FloatField(null=True, blank=True)
    values_list = models.CharField(max_length=1000, blank=True)
    supports_monitoring = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["charge_point", "component", "component_instance", "evse_id", "connector_id", "variable"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "charge_point",
                    "component",
                    "component_instance",
                    "evse_id",
                    "connector_id",
                    "variable",
                    "variable_instance",
                    "attribute_type",
                ],
                name="uniq_device_variable",
                # A station-wide component has no EVSE: NULLs must collide like values (PostgreSQL 15).
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component}.{self.variable}={self.value}"
