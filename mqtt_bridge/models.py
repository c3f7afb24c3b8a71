"""What travelled: the message log, and the replies kept to answer QoS 1 redeliveries."""

from __future__ import annotations

from django.db import models


class MessageLog(models.Model):
    """Every frame in and out, including the ones we could not read (kept, never dropped)."""

    class Direction(models.TextChoices):
        IN = "in"
        OUT = "out"

    class Kind(models.TextChoices):
        CALL = "call"
        RESULT = "result"
        ERROR = "error"
        SEND = "send"  # OCPP 2.1 SEND (message type 6): never answered
        RESULT_ERROR = "result_error"  # OCPP 2.1 CALLRESULTERROR (message type 5): never answered
        PRESENCE = "presence"
        INVALID = "invalid"

    charge_point_id = models.CharField(max_length=64, blank=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    message_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True)
    raw = models.TextField(blank=True, help_text="The bytes as received, when they were not valid")
    topic = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_description = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["charge_point_id", "-created_at"]),
            models.Index(fields=["action", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.action or '-'} {self.charge_point_id} {self.message_id}"


class InboundCall(models.Model):
    """The reply we gave to a charger's Call, keyed by (charge point, message id).

    MQTT QoS 1 delivers at least once: when the same Call (same id, action and payload) comes again
    within ``CSMS_DUPLICATE_WINDOW`` we send this reply again instead of handling it twice. A
    different Call under a reused id (chargers that restart their id counter at boot) replaces it.
    """

    charge_point_id = models.CharField(max_length=48)
    message_id = models.CharField(max_length=36)
    action = models.CharField(max_length=64)
    payload_hash = models.CharField(max_length=64)
    reply = models.JSONField(help_text="Our reply frame: kind, payload or error")
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["charge_point_id", "message_id"], name="uniq_inbound_call"),
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"{self.charge_point_id} {self.message_id} {self.action}"


class DeadLetter(models.Model):
    """A frame taken out of the flow because handling it failed in a way a retry cannot fix.

    Either handling it raised where no CallError could be built for it, or every worker that took
    its task died (``CSMS_POISON_MAX_DELIVERIES`` times). Its batch-mates were handled without it;
    ``raw`` keeps what the bridge handed over, so an operator (or a fix) can replay it.
    """

    class Reason(models.TextChoices):
        WORKER_LOST = "worker_lost", "its worker died every time it was handled"
        EXCEPTION = "exception", "handling it raised an error"
        UNENCODABLE = "unencodable", "the bridge could not put it in a task"

    created_at = models.DateTimeField(db_index=True)
    charge_point_id = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    description = models.TextField(blank=True)
    deliveries = models.PositiveIntegerField(default=1, help_text="How many times its task was taken by a worker")
    answered = models.BooleanField(default=False, help_text="Whether the charger got a CallError for it")
    raw = models.TextField(help_text="The task item as the bridge enqueued it (JSON)")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["charge_point_id", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.reason} {self.charge_point_id} {self.message_id}"


class MqttChargerProfile(models.Model):
    """Chargers that speak OCPP-J over MQTT themselves, and the quirks of their firmware, as data.

    A profile is a route: a charger belongs to it by publishing on its uplink topic (the charge point
    id is read from the topic by the template), is answered and sent commands on its downlink topic, in
    its reply encoding. A per-model profile names the model in its topics (``/charger/ESP32-A/{cid}``).
    The name travels as the frame's dialect and becomes its chargers' ``ChargePoint.dialect``, which is
    how a reply or a command finds the profile again: it cannot change once the profile exists.

    Retained uplink messages (firmware that publishes with the retain flag) need no setting: the broker
    hands the last one again to every new subscription (each bridge start or reconnect) with the retain
    flag set, and the bridge drops every retained delivery on a profile's route as the redelivery it is
    (kept in the message log as ``retained``). Validation, and what the bridge does with a profile:
    ``mqtt_bridge.profiles``.
    """

    class ReplyEncoding(models.TextChoices):
        OCPPJ = "ocppj", "OCPP-J arrays"
        OCPPJ_ACTION_ID = "ocppj-action-id", "OCPP-J, the action in the id slot of our replies"

    class OcppVersion(models.TextChoices):
        V16 = "1.6", "OCPP 1.6"
        V201 = "2.0.1", "OCPP 2.0.1"
        V21 = "2.1", "OCPP 2.1"

    name = models.SlugField(
        max_length=16,
        unique=True,
        help_text="Lower-case letters, digits, - and _; the dialect of its chargers (cannot change)",
    )
    uplink_template = models.CharField(
        max_length=200,
        unique=True,
        help_text="Topic the chargers publish on, e.g. /charger/{cid} ({cid} once, a whole level; + a level ignored)",
    )
    downlink_template = models.CharField(
        max_length=200, help_text="Topic our replies and commands go to, e.g. /system/{cid} ({cid} once, no wildcards)"
    )
    ocpp_version = models.CharField(max_length=8, choices=OcppVersion.choices, default=OcppVersion.V16)
    reply_encoding = models.CharField(max_length=20, choices=ReplyEncoding.choices, default=ReplyEncoding.OCPPJ)
    accepts_calls = models.BooleanField(
        default=True, help_text="Whether the firmware takes Calls from the CSMS; if not, commands are refused"
    )
    ids_restart_at_boot = models.BooleanField(
        default=False,
        help_text="The firmware numbers its messages from 1 again at every boot: a BootNotification it publishes "
        "is a new boot even with the id and payload of the last one",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "MQTT charger profile"

    def __str__(self) -> str:
        return self.name
