"""The internal frame: one typed object for every OCPP message, whatever gateway carried it."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime
from typing import Any


class Kind(enum.IntEnum):
    """OCPP-J MessageTypeId (5 and 6 exist in OCPP 2.1's framing only: ``protocols.validation.message_types``)."""

    CALL = 2
    RESULT = 3
    ERROR = 4
    RESULT_ERROR = 5  # CALLRESULTERROR: a station could not take a CallResult we sent it; logged, never answered
    SEND = 6  # SEND: a station's message that is never answered


# OCPP-J: message ids are strings of at most 36 characters.
MAX_MESSAGE_ID_LENGTH = 36
# No OCPP action name comes near this; the message log and the stored replies keep this many.
MAX_ACTION_LENGTH = 64

# The version of a frame built without a route; a decoded frame takes its route's (routes.RouteSpec).
OCPP_VERSION = "1.6"


@dataclasses.dataclass(frozen=True, slots=True)
class Frame:
    """An OCPP message, decoded from (or to be encoded into) one payload of its transport.

    ``ocpp_version``, ``dialect`` and ``transport`` are those of the route it came by (a reply or
    command: of the route its charger last spoke on), and say how it is encoded and sent back.

    ``action`` is set for Calls and SENDs; for results and errors it is filled in from the command we sent
    (the EMQX gateway does not carry it). The payload travels parsed; only an
    unreadable message keeps its raw text (``Rejected.raw``).

    ``new_boot`` is set by the transport on a BootNotification it knows to be a charger's new boot,
    not a redelivery, from a charger whose message ids restart at every boot (an MQTT charger
    profile says so): it is handled even when its id and payload are those of the previous boot's.
    """

    charge_point_id: str
    kind: Kind
    message_id: str
    action: str = ""
    payload: Any = None
    error_code: str = ""
    error_description: str = ""
    error_details: Any = None
    ocpp_version: str = OCPP_VERSION
    dialect: str = "emqx"
    transport: str = "mqtt"
    topic: str = ""
    received_at: datetime | None = None
    new_boot: bool = False

    def to_task(self) -> dict[str, Any]:
        """A JSON-safe dict for a Celery message (see ``from_task``).

        Shallow: ``dataclasses.asdict`` deep-copied every payload, 18% of the bridge's time.
        """
        data = {name: getattr(self, name) for name in self.__slots__}
        data["kind"] = int(self.kind)
        data["received_at"] = self.received_at.isoformat() if self.received_at else None
        if not self.new_boot:
            del data["new_boot"]  # only when set: a worker of the previous release takes the others
        return data

    @classmethod
    def from_task(cls, data: dict[str, Any]) -> Frame:
        values = dict(data)
        values["kind"] = Kind(values["kind"])
        received_at = values.get("received_at")
        values["received_at"] = datetime.fromisoformat(received_at) if received_at else None
        return cls(**values)

    def reply(self, payload: dict[str, Any]) -> Frame:
        """The CallResult answering this Call."""
        return Frame(
            charge_point_id=self.charge_point_id,
            kind=Kind.RESULT,
            message_id=self.message_id,
            action=self.action,
            payload=payload,
            ocpp_version=self.ocpp_version,
            dialect=self.dialect,
            transport=self.transport,
        )

    def error(self, code: str, description: str, details: Any = None) -> Frame:
        """The CallError answering this Call."""
        return Frame(
            charge_point_id=self.charge_point_id,
            kind=Kind.ERROR,
            message_id=self.message_id,
            action=self.action,
            error_code=code,
            error_description=description[:255],
            error_details=details if details is not None else {},
            ocpp_version=self.ocpp_version,
            dialect=self.dialect,
            transport=self.transport,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Rejected:
    """An MQTT message that could not be turned into a Frame, kept for the message log and metrics.

    ``reply`` is set when enough of it was readable to answer the charger with a CallError.
    ``raw`` and ``description`` are always storable (``storable_text``), whoever builds the Rejected.
    """

    reason: str
    description: str
    topic: str
    raw: str
    charge_point_id: str = ""
    message_id: str = ""
    received_at: datetime | None = None
    reply: Frame | None = None
    size: int = 0  # bytes as received (``raw`` keeps at most CSMS_MAX_PAYLOAD_BYTES of them)

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", storable_text(self.raw))
        object.__setattr__(self, "description", storable_text(self.description))

    def to_task(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "description": self.description,
            "topic": self.topic,
            "raw": self.raw,
            "charge_point_id": self.charge_point_id,
            "message_id": self.message_id,
            "received_at": self.received_at.isoformat() if self.received_at else None,
            "reply": self.reply.to_task() if self.reply else None,
            "size": self.size,
        }

    @classmethod
    def from_task(cls, data: dict[str, Any]) -> Rejected:
        values = dict(data)
        values["received_at"] = datetime.fromisoformat(data["received_at"]) if data.get("received_at") else None
        values["reply"] = Frame.from_task(data["reply"]) if data.get("reply") else None
        return cls(**values)


def storable_text(text: str) -> str:
    """``text`` with every NUL character written as the JSON escape ``\\u0000``.

    PostgreSQL stores NUL neither in ``text`` nor in ``jsonb``, and a charger's garbage may hold
    one. The escape keeps the message log readable (U+FFFD already stands for the bytes that were
    not UTF-8) and is what the charger would have written had the NUL been inside a JSON string.
    """
    return text.replace("\x00", "\\u0000")


def utcnow() -> datetime:
    return datetime.now(UTC)
