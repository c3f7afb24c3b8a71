"""What EMQX's OCPP gateway puts on the wire, as pure functions (no I/O).

Upstream (charger -> MQTT): an OCPP-J array becomes the EMQX JSON envelope
``{"MessageTypeId", "UniqueId", "Action"?, "Payload"?, "ErrorCode"?, "ErrorDescription"?}`` on the
Call topic or the Reply topic; a CallError loses its ErrorDetails, as in EMQX. Downstream
(MQTT -> charger): the envelope becomes the OCPP-J array again, one WebSocket frame per message.
Presence events carry the fields of EMQX's ``emqx_sys`` connected/disconnected messages, ``proto_ver``
saying the socket's OCPP version.

A charger's frame is decoded within the limits every transport applies (``mqtt_bridge.decoding``:
size, nesting depth, number size, valid Unicode, NUL) before anything is published. A frame that
fails them, or is no well-formed OCPP-J message, raises FrameError; when the socket's OCPP version
answers it (a Call whose message id is readable; in 2.0.1 and 2.1 also a frame that is no readable RPC
message, answered to the message id "-1"), the error says how (``FrameError.answer``), in that version's
spelling. On a 2.1 socket a SEND (``[6, id, action, payload]``) travels as a Call does, on the Call topic,
and a CALLRESULTERROR (``[5, id, code, description, details]``) as a CallError does, on the Reply topic,
its details kept; neither is ever answered, a malformed one included (it is refused: logged and counted).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from typing import Any
from urllib.parse import unquote

from mqtt_bridge import decoding
from protocols.validation import message_types

CALL, CALLRESULT, CALLERROR = 2, 3, 4
# OCPP 2.1 only (``protocols.validation.message_types``): never answered, even when malformed.
CALLRESULTERROR, SEND = 5, 6
CID_MAX_LENGTH = 48
MESSAGE_ID_MAX_LENGTH = 36  # OCPP-J
ACTION_MAX_LENGTH = 64  # what the backoffice stores; longer is no action it implements
_FORBIDDEN_IN_CID = re.compile(r"[/+#]")
# OCPP-J version of a WebSocket subprotocol: it picks the socket's MQTT topics and its error spellings.
OCPP_VERSIONS = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1", "ocpp2.1": "2.1"}
# CallError codes besides the decoder's: a Call that is no valid RPC request (1.6 has no closer
# code than ProtocolError, "payload incomplete"), and a message type the receiver does not know
# (2.0.1 only: 1.6 has no such code and says nothing about unknown types).
_RPC_ERROR = {"1.6": "ProtocolError", "2.0.1": "RpcFrameworkError", "2.1": "RpcFrameworkError"}
_TYPE_ERROR = {"2.0.1": "MessageTypeNotSupported", "2.1": "MessageTypeNotSupported"}
# 2.0.1 answers a frame that is no readable RPC message too, with "-1" as the message id when that
# cannot be read either (OCPP-J 2.0.1, part 4, 4.2.3). 1.6 says nothing: such a frame goes unanswered.
UNREADABLE_MESSAGE_ID = {"2.0.1": "-1", "2.1": "-1"}
ERROR_DESCRIPTION_MAX_LENGTH = 255  # 2.0.1's limit; 1.6 sets none


class FrameError(ValueError):
    """A frame (from the charger or from MQTT) that cannot be translated; logged and dropped.

    ``reason`` is a short slug for counters and the log. For a charger's Call whose message id
    could be read, ``unique_id`` and ``code`` say how to answer it (``answer``); otherwise the frame
    goes unanswered, as OCPP-J wants for results, errors and unreadable frames.
    """

    def __init__(self, description: str, *, reason: str = "bad_structure", unique_id: str = "", code: str = "") -> None:
        super().__init__(description)
        self.description = description
        self.reason = reason
        self.unique_id = unique_id
        self.code = code

    def answer(self) -> list[Any] | None:
        """The CallError ``[4, id, code, description, {}]`` for the charger, or None when there is none."""
        if not (self.unique_id and self.code):
            return None
        return [CALLERROR, self.unique_id, self.code, self.description[:ERROR_DESCRIPTION_MAX_LENGTH], {}]


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 kept as is (what EMQX's encoder emits)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def charge_point_id_from_path(path: str, prefix: str) -> str | None:
    """The charge point id in ``{prefix}/{cid}`` (percent-decoded), or None when the path is not ours.

    EMQX's rules: non-empty after decoding, and none of ``/ + #`` (they would break the MQTT topic).
    """
    path = path.split("?", 1)[0]
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    if not path.startswith(prefix):
        return None
    raw = path[len(prefix) :]
    if "/" in raw:
        return None
    cid = unquote(raw, errors="strict") if "%" in raw else raw
    if not cid or len(cid) > CID_MAX_LENGTH or _FORBIDDEN_IN_CID.search(cid):
        return None
    return cid


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) of an ``Authorization: Basic ...`` header, None when absent or unreadable."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


@dataclasses.dataclass(frozen=True)
class Upstream:
    """One charger frame translated: where it goes and what is published."""

    kind: int
    unique_id: str
    action: str
    envelope: dict[str, Any]


def upstream_from_frame(
    text: str,
    *,
    max_bytes: int | None = None,
    max_depth: int | None = None,
    ocpp_version: str = "1.6",
    action_in_topic: bool = False,
) -> Upstream:
    """Translate one WebSocket text frame from a charger into the EMQX envelope.

    ``max_bytes`` and ``max_depth`` default to the decoder's (``CSMS_MAX_PAYLOAD_BYTES``,
    ``CSMS_MAX_JSON_DEPTH``). ``action_in_topic``: the Call topic holds ``{action}``, so an action
    that would break the topic is refused here rather than by the MQTT client.
    """
    # websockets hands over valid UTF-8 only; surrogatepass keeps this total for any str anyway
    # (the decoder then refuses the bytes).
    raw = text.encode("utf-8", "surrogatepass")
    try:
        frame = decoding.loads(raw, max_depth=max_depth, max_bytes=max_bytes)
    except decoding.DecodeError as exc:
        description = exc.description
        if exc.reason == decoding.OVERSIZED and max_bytes is not None:
            description = f"frame of {len(raw)} bytes exceeds the gateway's limit of {max_bytes}"
        found = decoding.readable_message(raw)
        # An EMQX envelope sent over the WebSocket is no OCPP-J message: it gets no answer as one.
        if found is None or found[0] != "ocppj":
            raise _unreadable(description, ocpp_version=ocpp_version, reason=exc.reason) from None
        _, found_kind, found_id = found
        if found_kind not in message_types(ocpp_version):
            code = _TYPE_ERROR.get(ocpp_version, "")
            raise FrameError(description, reason=exc.reason, unique_id=found_id, code=code) from None
        # A result, an error, a SEND or a CALLRESULTERROR is never answered, even when it cannot be read.
        code = exc.error_code(ocpp_version) if found_kind == CALL else ""
        raise FrameError(description, reason=exc.reason, unique_id=found_id, code=code) from None
    if not isinstance(frame, list) or not frame:
        raise _unreadable("not an OCPP-J array", ocpp_version=ocpp_version)
    kind = frame[0]
    unique_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else ""
    # Only a Call is ever answered, and only to an id the charger can match (OCPP-J: at most 36).
    answer_id = unique_id if len(unique_id) <= MESSAGE_ID_MAX_LENGTH else UNREADABLE_MESSAGE_ID.get(ocpp_version, "")
    if type(kind) is not int:
        raise _unreadable("MessageTypeId is not an integer", ocpp_version=ocpp_version, unique_id=answer_id)
    if kind not in message_types(ocpp_version):
        # 2.0.1 answers an unknown message type; 1.6 has no code for it, so the frame goes unanswered.
        unknown_id = answer_id or UNREADABLE_MESSAGE_ID.get(ocpp_version, "")
        raise FrameError(f"unknown MessageTypeId {kind}", unique_id=unknown_id, code=_TYPE_ERROR.get(ocpp_version, ""))
    if kind in (SEND, CALLRESULTERROR):
        return _never_answered(frame, kind, unique_id, action_in_topic=action_in_topic)
    if not unique_id:
        if kind == CALL:
            raise _unreadable("UniqueId is missing or not a string", ocpp_version=ocpp_version)
        raise FrameError("UniqueId is missing or not a string")
    if kind == CALL:
        if len(frame) != 4 or not isinstance(frame[2], str) or not frame[2]:
            raise FrameError(
                "a Call is [2, UniqueId, Action, Payload]",
                unique_id=answer_id,
                code=_RPC_ERROR.get(ocpp_version, _RPC_ERROR["1.6"]),
            )
        if action_in_topic and (len(frame[2]) > ACTION_MAX_LENGTH or _FORBIDDEN_IN_CID.search(frame[2])):
            raise FrameError(
                f"unknown action {frame[2][:ACTION_MAX_LENGTH]!r}",
                reason="bad_action",
                unique_id=answer_id,
                code="NotImplemented",
            )
        envelope = {"MessageTypeId": CALL, "UniqueId": unique_id, "Action": frame[2], "Payload": frame[3]}
        return Upstream(CALL, unique_id, frame[2], envelope)
    if kind == CALLRESULT:
        if len(frame) != 3:
            raise FrameError("a CallResult is [3, UniqueId, Payload]")
        return Upstream(
            CALLRESULT, unique_id, "", {"MessageTypeId": CALLRESULT, "UniqueId": unique_id, "Payload": frame[2]}
        )
    # A CallError: [4, id, code, description, details]; some firmware omits the details. EMQX drops them anyway.
    if len(frame) not in (4, 5) or not isinstance(frame[2], str) or not isinstance(frame[3], str):
        raise FrameError("a CallError is [4, UniqueId, ErrorCode, ErrorDescription, ErrorDetails]")
    envelope = {
        "MessageTypeId": CALLERROR,
        "UniqueId": unique_id,
        "ErrorCode": frame[2],
        "ErrorDescription": frame[3],
    }
    return Upstream(CALLERROR, unique_id, "", envelope)


def _never_answered(frame: list[Any], kind: int, unique_id: str, *, action_in_topic: bool) -> Upstream:
    """A 2.1 SEND or CALLRESULTERROR as the envelope; FrameError, never with an answer, when malformed."""
    if not unique_id or len(unique_id) > MESSAGE_ID_MAX_LENGTH:
        raise FrameError("UniqueId is missing, not a string or longer than 36 characters")
    if kind == SEND:
        if len(frame) != 4 or not isinstance(frame[2], str) or not frame[2] or not isinstance(frame[3], dict):
            raise FrameError("a SEND is [6, UniqueId, Action, Payload]")
        if action_in_topic and (len(frame[2]) > ACTION_MAX_LENGTH or _FORBIDDEN_IN_CID.search(frame[2])):
            raise FrameError(f"unknown action {frame[2][:ACTION_MAX_LENGTH]!r}", reason="bad_action")
        envelope = {"MessageTypeId": SEND, "UniqueId": unique_id, "Action": frame[2], "Payload": frame[3]}
        return Upstream(SEND, unique_id, frame[2], envelope)
    if len(frame) not in (4, 5) or not isinstance(frame[2], str) or not isinstance(frame[3], str):
        raise FrameError("a CallResultError is [5, UniqueId, ErrorCode, ErrorDescription, ErrorDetails]")
    envelope = {
        "MessageTypeId": CALLRESULTERROR,
        "UniqueId": unique_id,
        "ErrorCode": frame[2],
        "ErrorDescription": frame[3],
        # Not EMQX's (it speaks no 2.1): the station's details say what it could not take.
        "ErrorDetails": frame[4] if len(frame) == 5 and isinstance(frame[4], dict) else {},
    }
    return Upstream(CALLRESULTERROR, unique_id, "", envelope)


def _unreadable(
    description: str, *, ocpp_version: str, unique_id: str = "", reason: str = "bad_structure"
) -> FrameError:
    """A frame that is no readable RPC message: answered with the version's RpcFrameworkError when the
    version says so (to ``unique_id``, else to the "unreadable" id), dropped otherwise."""
    fallback = UNREADABLE_MESSAGE_ID.get(ocpp_version)
    if fallback is None:
        return FrameError(description, reason=reason)
    return FrameError(description, reason=reason, unique_id=unique_id or fallback, code=_RPC_ERROR[ocpp_version])


@dataclasses.dataclass(frozen=True)
class Downlink:
    """One MQTT downlink translated into the OCPP-J frame sent to the charger."""

    kind: int
    frame: list[Any]

    @property
    def text(self) -> str:
        return dumps(self.frame)

    def heartbeat_interval(self) -> int | None:
        """The interval an accepted registration sets (EMQX resets its keepalive from it)."""
        if self.kind != CALLRESULT:
            return None
        payload = self.frame[2]
        if not isinstance(payload, dict) or payload.get("status") != "Accepted":
            return None
        interval = payload.get("interval")
        if type(interval) is int and interval > 0:
            return interval
        return None

    def boot_retry_interval(self) -> int | None:
        """The retry interval of a Pending or Rejected BootNotification reply.

        Only a BootNotification reply carries ``status`` with ``interval``; when the status is not
        Accepted the interval is the time the charger waits before it boots again, not a heartbeat.
        """
        if self.kind != CALLRESULT:
            return None
        payload = self.frame[2]
        if not isinstance(payload, dict) or payload.get("status") not in ("Pending", "Rejected"):
            return None
        interval = payload.get("interval")
        if type(interval) is int and interval > 0:
            return interval
        return None


def downlink_from_payload(payload: bytes) -> Downlink:
    """Translate an MQTT downlink (EMQX envelope, or a raw OCPP-J array) into an OCPP-J frame.

    Like EMQX, an envelope whose MessageTypeId is not a JSON integer or that lacks a key is dropped.
    """
    try:
        message = json.loads(payload)
    except ValueError as exc:
        raise FrameError(f"invalid JSON: {exc}") from None
    if isinstance(message, list):
        # Raw OCPP-J (dialect 2): forwarded as is once its shape is checked.
        if len(message) < 3 or type(message[0]) is not int or message[0] not in (CALL, CALLRESULT, CALLERROR):
            raise FrameError("not an OCPP-J array")
        return Downlink(message[0], message)
    if not isinstance(message, dict):
        raise FrameError("neither an envelope nor an OCPP-J array")
    kind = message.get("MessageTypeId")
    try:
        if type(kind) is not int:
            raise FrameError("MessageTypeId is not a JSON integer")
        unique_id = message["UniqueId"]
        if kind == CALL:
            return Downlink(CALL, [CALL, unique_id, message["Action"], message["Payload"]])
        if kind == CALLRESULT:
            return Downlink(CALLRESULT, [CALLRESULT, unique_id, message["Payload"]])
        if kind == CALLERROR:
            details = message.get("ErrorDetails")
            frame = [
                CALLERROR,
                unique_id,
                message["ErrorCode"],
                message["ErrorDescription"],
                details if isinstance(details, dict) else {},
            ]
            return Downlink(CALLERROR, frame)
    except KeyError as exc:
        raise FrameError(f"envelope without {exc.args[0]}") from None
    raise FrameError(f"unknown MessageTypeId {kind}")


def topic_for(template: str, *, cid: str, action: str = "") -> str:
    """Fill a ``{cid}`` / ``{action}`` topic template."""
    return template.replace("{cid}", cid).replace("{action}", action)


def cid_regex(template: str) -> re.Pattern[str]:
    """A regex that takes the charge point id out of a topic built from ``template``."""
    parts = []
    for level in template.split("/"):
        if level == "+":
            parts.append(r"[^/]+")
        else:
            parts.append(re.escape(level).replace(re.escape("{cid}"), r"(?P<cid>[^/+#]{1,48})"))
    return re.compile("/".join(parts) + r"\Z")


def presence_topics(templates: list[str], *, node: str, cid: str, event: str) -> list[str]:
    """The presence topics to publish an event on: the backoffice's subscription templates
    (``CSMS_TOPIC_PRESENCE``) for that event, with the ``+`` node wildcard filled in.

    Topics starting with ``$`` are the broker's own (MQTT-4.7.2-1): Mosquitto silently drops a
    client's publish there and amqtt stops forwarding anything else from that client, so the
    gateway skips them (EMQX's `$SYS` events come from EMQX itself).
    """
    topics = []
    for template in templates:
        if template.startswith("$") or template.rstrip("/").rsplit("/", 1)[-1] != event:
            continue
        levels = [node if level == "+" else level for level in template.split("/")]
        topics.append(topic_for("/".join(levels), cid=cid))
    return topics


@dataclasses.dataclass
class ClientInfo:
    """What a presence event says about one connection."""

    cid: str
    username: str | None
    peer_host: str
    sockport: int
    keepalive: int
    connected_at_ms: int
    proto_ver: str = "1.6"  # the OCPP version of the negotiated subprotocol


def connected_event(info: ClientInfo, *, now_ms: int) -> dict[str, Any]:
    """EMQX's ``client.connected`` system message for a gateway client."""
    return {
        **_common(info, now_ms),
        "keepalive": info.keepalive,
        "clean_start": True,
        "expiry_interval": 0,
    }


def disconnected_event(info: ClientInfo, *, reason: str, now_ms: int) -> dict[str, Any]:
    """EMQX's ``client.disconnected`` system message for a gateway client."""
    return {**_common(info, now_ms), "reason": reason, "disconnected_at": now_ms}


def _common(info: ClientInfo, now_ms: int) -> dict[str, Any]:
    return {
        "clientid": info.cid,
        "username": info.username,
        "ipaddress": info.peer_host,
        "sockport": info.sockport,
        "protocol": "ocpp",
        "proto_name": "OCPP",
        "proto_ver": info.proto_ver,
        "connected_at": info.connected_at_ms,
        "ts": now_ms,
    }
