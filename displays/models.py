"""The display messages data model (OCPP 2.0.1 block O)."""

from __future__ import annotations

from django.db import models

from chargers.models import ChargePoint, Command


class DisplayMessage(models.Model):
    """One message on a station's display, by the station's message id: what we asked it to show
    (SetDisplayMessage) or what it reported showing (NotifyDisplayMessages), and where it stands.

    One row per (station, id): a SetDisplayMessage with an id the station holds replaces that message
    (O06), and so does the row.
    """

    class Priority(models.TextChoices):
        ALWAYS_FRONT = "AlwaysFront"
        IN_FRONT = "InFront"
        NORMAL_CYCLE = "NormalCycle"

    class State(models.TextChoices):
        CHARGING = "Charging"
        FAULTED = "Faulted"
        IDLE = "Idle"
        UNAVAILABLE = "Unavailable"

    class Format(models.TextChoices):
        ASCII = "ASCII"
        HTML = "HTML"
        URI = "URI"
        UTF8 = "UTF8"

    class Status(models.TextChoices):
        #: SetDisplayMessage queued or sent, not answered yet.
        REQUESTED = "requested"
        #: SetDisplayMessage answered Accepted.
        ACCEPTED = "accepted"
        #: SetDisplayMessage answered otherwise (``answer`` says how).
        REJECTED = "rejected"
        #: ClearDisplayMessage answered Accepted (or Unknown: the station holds no such message).
        CLEARED = "cleared"
        #: Reported by the station (NotifyDisplayMessages) without our SetDisplayMessage.
        REPORTED = "reported"
        #: The station no longer holds it: a complete report of its messages left it out.
        REMOVED = "removed"

    charge_point = models.ForeignKey(ChargePoint, on_delete=models.CASCADE, related_name="display_messages")
    message_id = models.IntegerField(help_text="The station's id of the message (MessageInfoType.id)")
    priority = models.CharField(max_length=16, choices=Priority.choices)
    state = models.CharField(max_length=16, choices=State.choices, blank=True, help_text="Shown only in this state")
    format = models.CharField(max_length=8, choices=Format.choices)
    language = models.CharField(max_length=8, blank=True)
    content = models.CharField(max_length=512)
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    transaction_id = models.CharField(
        max_length=36, blank=True, help_text="The station's transactionId: shown during that session only"
    )
    display = models.JSONField(null=True, blank=True, help_text="The display component, when one is named")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    answer = models.CharField(max_length=32, blank=True, help_text="The station's answer when it did not accept")
    command = models.ForeignKey(Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    report_request_id = models.IntegerField(
        null=True, blank=True, help_text="The GetDisplayMessages requestId that last reported it"
    )
    reported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charge_point", "message_id"]
        constraints = [
            models.UniqueConstraint(fields=["charge_point", "message_id"], name="display_message_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.charge_point} message {self.message_id}"
