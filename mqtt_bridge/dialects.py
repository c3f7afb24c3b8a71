"""Payload dialects: how each gateway writes an OCPP frame into an MQTT payload (WIRE.md).

``decode`` turns one payload into a Frame, or into a Rejected that says why not (and carries
the CallError to answer with when the message id was readable). ``encode`` writes a Frame in the
dialect of the charger's gateway. Adding a gateway's encoding means adding a dialect here.

Nothing is guessed: the route a payload came by (``RouteMatch.spec``) gives the frame its transport
and OCPP version and lists the dialects it accepts. Among those, the JSON value's structure decides:
an object is the EMQX envelope, an array OCPP-J; a structure the route does not accept is refused. A
CallError answering a payload whose structure could not be read is written in the route's first dialect.

The MessageTypeIds a route takes are its version's (``protocols.validation.message_types``): OCPP 2.1
adds SEND (6: ``[6, id, action, payload]``, an envelope like a Call's) and CALLRESULTERROR (5:
``[5, id, code, description, details]``, an envelope like a CallError's). Neither is ever answered, not
even when it cannot be read: a malformed one is refused (logged, counted, kept) without a reply.

Every dialect but the EMQX envelope is an OCPP-J array: ``ocppj``, and the dialect of an MQTT charger
profile, which is the profile's name (``topics.ProfileSpec``). A profile's frames are written in its
reply encoding, which the publisher passes to ``encode``: ``ocppj``, or ``ocppj-action-id`` for
firmware that expects the action where the message id belongs in our replies.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from protocols.validation import error_code, message_types

from . import decoding
from .frames import MAX_ACTION_LENGTH, MAX_MESSAGE_ID_LENGTH, Frame, Kind, Rejected
from .routes import RouteMatch
from .topics import ProfileMatch

EMQX = "emqx"
OCPPJ = "ocppj"
DIALECTS = (EMQX, OCPPJ)
# OCPP-J, compact, with the action in the id slot of our CallResults and CallErrors:
# `[3, "BootNotification", {...}]` (an ESP32 charger's firmware matches replies by action).
OCPPJ_ACTION_ID = "ocppj-action-id"
# How a frame can be written (``encode``): the dialects', and the reply encodings of MQTT charger profiles.
ENCODINGS = (EMQX, OCPPJ, OCPPJ_ACTION_ID)


def structure_of(dialect: str) -> str:
    """The JSON structure a dialect's payloads have: ``emqx`` (an object) or ``ocppj`` (an array)."""
    return EMQX if dialect == EMQX else OCPPJ


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def encode(frame: Frame, *, encoding: str = "") -> bytes:
    """The payload for ``frame`` in ``encoding`` (default: its dialect's); ValueError for an unknown one.

    ``ocppj-action-id`` writes our CallResults and CallErrors with the action in the id slot (the id
    itself when the action is unknown: a Call we could not read); our Calls stay standard OCPP-J.
    """
    encoding = encoding or frame.dialect
    if encoding in (OCPPJ, OCPPJ_ACTION_ID):
        slot = frame.message_id
        if encoding == OCPPJ_ACTION_ID and frame.kind != Kind.CALL and frame.action:
            slot = frame.action
        if frame.kind == Kind.CALL:
            return _dumps([2, frame.message_id, frame.action, frame.payload])
        if frame.kind == Kind.RESULT:
            return _dumps([3, slot, frame.payload])
        return _dumps([4, slot, frame.error_code, frame.error_description, frame.error_details or {}])
    if encoding != EMQX:
        raise ValueError(f"no encoding {encoding!r} (known: {', '.join(ENCODINGS)})")
    if frame.kind == Kind.CALL:
        return _dumps(
            {"MessageTypeId": 2, "UniqueId": frame.message_id, "Action": frame.action, "Payload": frame.payload}
        )
    if frame.kind == Kind.RESULT:
        return _dumps({"MessageTypeId": 3, "UniqueId": frame.message_id, "Payload": frame.payload})
    return _dumps(
        {
            "MessageTypeId": 4,
            "UniqueId": frame.message_id,
            "ErrorCode": frame.error_code,
            "ErrorDescription": frame.error_description,
        }
    )


class _Unreadable(Exception):
    def __init__(
        self,
        reason: str,
        description: str,
        message_id: str = "",
        error_code: str = "",
        dialect: str = "",
        *,
        answered: bool = True,
    ) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description
        self.message_id = message_id
        # Set when the charger is to get a CallError; "format": the version's spelling of FormationViolation.
        self.error_code = error_code
        self.dialect = dialect  # of the reply, when the payload could not be decoded
        # False for a SEND or a CALLRESULTERROR (OCPP 2.1): never answered, however unreadable.
        self.answered = answered


def decode(*, topic: str, match: RouteMatch, payload: bytes, received_at: datetime, max_bytes: int) -> Frame | Rejected:
    """Decode one upstream payload that came by the route of ``match`` (one of the route's dialects).

    The limits are ``decoding.loads``'s; a Call that fails one is answered whenever its message id
    can be read, from the first bytes of the payload if need be (an oversized one too).
    """
    cid = match.charge_point_id
    spec = match.spec
    types = message_types(spec.ocpp_version)
    dialect = ""  # known once the JSON value's structure is
    try:
        try:
            data = decoding.loads(payload, max_bytes=max_bytes)
        except decoding.DecodeError as exc:
            raise _refused(exc, payload, spec.ocpp_version, types) from None
        if isinstance(data, dict):
            structure = EMQX
        elif isinstance(data, list):
            structure = OCPPJ
        else:
            raise _Unreadable("bad_structure", "payload is neither an EMQX JSON object nor an OCPP-J array")
        dialect = _dialect_of(structure, spec.dialects)
        if not dialect:
            description = f"payload is {_STRUCTURE[structure]}; this route takes {' or '.join(spec.dialects)}"
            raise _Unreadable("bad_structure", description)
        fields = _from_envelope(data, match.action, types) if structure == EMQX else _from_array(data, types)
    except _Unreadable as exc:
        reply = None
        if not exc.answered:
            exc.error_code = ""  # a SEND or a CALLRESULTERROR: logged and counted, never answered
        elif exc.error_code == _MESSAGE_TYPE and spec.ocpp_version == "1.6":
            exc.error_code = ""  # 1.6 has no error code for it: dropped, as before
        elif exc.error_code == _MESSAGE_TYPE:
            exc.error_code = "MessageTypeNotSupported"
        elif not exc.message_id and spec.ocpp_version != "1.6":
            # OCPP-J 2.0.1 (part 4, 4.2.3): a message whose id cannot be read is answered RpcFrameworkError
            # to message id "-1" (1.6 says nothing: such a frame is logged and dropped).
            exc.message_id, exc.error_code = "-1", "RpcFrameworkError"
        if exc.error_code and exc.message_id:
            # The structure read (the whole value, or readable_message's head), else the route's first.
            read = _dialect_of(exc.dialect, spec.dialects) if exc.dialect else dialect
            reply_dialect = read or spec.dialect
            code = error_code("format", spec.ocpp_version) if exc.error_code == "format" else exc.error_code
            call = Frame(
                charge_point_id=cid,
                kind=Kind.CALL,
                message_id=exc.message_id,
                ocpp_version=spec.ocpp_version,
                dialect=reply_dialect,
                transport=spec.transport,
            )
            reply = call.error(code, exc.description)
        return Rejected(
            reason=exc.reason,
            description=exc.description,
            topic=topic,
            raw=payload[:max_bytes].decode("utf-8", errors="replace"),
            charge_point_id=cid,
            message_id=exc.message_id,
            received_at=received_at,
            reply=reply,
            size=len(payload),
        )
    return Frame(
        charge_point_id=cid,
        topic=topic,
        ocpp_version=spec.ocpp_version,
        dialect=dialect,
        transport=spec.transport,
        received_at=received_at,
        new_boot=isinstance(match, ProfileMatch) and fields["kind"] == Kind.CALL and match.boots_anew(fields["action"]),
        **fields,
    )


def _dialect_of(structure: str, accepted: tuple[str, ...]) -> str:
    """The first of a route's dialects whose payloads have this structure; "" when none has."""
    return next((dialect for dialect in accepted if structure_of(dialect) == structure), "")


# The error code of an unknown MessageTypeId with a readable id: MessageTypeNotSupported where the version has it.
_MESSAGE_TYPE = "message_type"

_STRUCTURE = {EMQX: "a JSON object (EMQX envelope)", OCPPJ: "a JSON array (OCPP-J)"}


def _refused(exc: decoding.DecodeError, payload: bytes, ocpp_version: str, types: frozenset[int]) -> _Unreadable:
    """The rejection of a payload the decoder refused; answered when it is a Call whose id is readable.

    A result, an error, a SEND or a CALLRESULTERROR keeps its message id for the log, but is never
    answered (OCPP-J); a message type the version does not have is answered as unknown.
    """
    message = decoding.readable_message(payload)
    if message is None:
        return _Unreadable(exc.reason, exc.description)
    dialect, type_id, message_id = message
    if type_id not in types:
        return _Unreadable(exc.reason, exc.description, message_id, _MESSAGE_TYPE, dialect)
    code = exc.error_code(ocpp_version) if type_id == Kind.CALL else ""
    answered = type_id not in _NEVER_ANSWERED
    return _Unreadable(exc.reason, exc.description, message_id, code, dialect, answered=answered)


def _message_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _Unreadable("bad_message_id", f"message id must be a non-empty string, got {value!r}"[:200])
    if len(value) > MAX_MESSAGE_ID_LENGTH:
        raise _Unreadable("bad_message_id", f"message id is {len(value)} characters, OCPP allows at most 36")
    return value


# SEND and CALLRESULTERROR (OCPP 2.1): never answered, even when malformed.
_NEVER_ANSWERED = frozenset({Kind.SEND, Kind.RESULT_ERROR})


def _kind(value: Any, types: frozenset[int]) -> Kind:
    # bool is an int in Python; `true` is not a MessageTypeId. A string "2" is dropped by EMQX too.
    if isinstance(value, bool) or not isinstance(value, int) or value not in types:
        known = ", ".join(str(t) for t in sorted(types))
        raise _Unreadable("bad_message_type", f"MessageTypeId must be one of the integers {known}, got {value!r}"[:200])
    return Kind(value)


def _never_answered(kind: Any, types: frozenset[int]) -> bool:
    """Whether a frame's (raw) MessageTypeId is a SEND or a CALLRESULTERROR of the route's version."""
    return type(kind) is int and kind in types and kind in _NEVER_ANSWERED


def _send_fields(message_id: str, action: Any, payload: Any, *, has_payload: bool) -> dict[str, Any]:
    """A SEND read as a Call is (the same checks), refused without an answer when it is malformed."""
    try:
        fields = _call_fields(message_id, action, payload, has_payload=has_payload)
    except _Unreadable as exc:
        exc.answered = False
        raise
    return {**fields, "kind": Kind.SEND}


def _call_fields(message_id: str, action: Any, payload: Any, *, has_payload: bool) -> dict[str, Any]:
    if not isinstance(action, str) or not action:
        raise _Unreadable("bad_structure", "Call without an Action", message_id, "ProtocolError")
    if len(action) > MAX_ACTION_LENGTH:
        # Unknown to OCPP, as any unknown action; too long to be kept as an action name.
        description = f"Unknown action {action[:40]!r}... ({len(action)} characters)"
        raise _Unreadable("bad_structure", description, message_id, "NotImplemented")
    if not has_payload:
        raise _Unreadable("bad_structure", f"{action} Call without a Payload", message_id, "ProtocolError")
    if not isinstance(payload, dict):
        raise _Unreadable("bad_structure", f"{action} Payload must be a JSON object", message_id, "format")
    return {"kind": Kind.CALL, "message_id": message_id, "action": action, "payload": payload}


def _from_envelope(data: dict[str, Any], topic_action: str, types: frozenset[int]) -> dict[str, Any]:
    kind = _kind(data.get("MessageTypeId"), types)
    try:
        message_id = _message_id(data.get("UniqueId"))
    except _Unreadable as exc:
        exc.answered = kind not in _NEVER_ANSWERED
        raise
    if kind in (Kind.CALL, Kind.SEND):
        # A per-action override topic (`cp/{cid}/Notify/{action}`) names the action when the body does not.
        action = data.get("Action") or topic_action
        read = _call_fields if kind == Kind.CALL else _send_fields
        return read(message_id, action, data.get("Payload"), has_payload="Payload" in data)
    if kind == Kind.RESULT:
        return {"kind": kind, "message_id": message_id, "payload": data.get("Payload")}
    return {
        "kind": kind,
        "message_id": message_id,
        "error_code": str(data.get("ErrorCode") or "GenericError"),
        "error_description": str(data.get("ErrorDescription") or ""),
        "error_details": data.get("ErrorDetails"),
    }


def _from_array(data: list[Any], types: frozenset[int]) -> dict[str, Any]:
    answered = not (data and _never_answered(data[0], types))
    if len(data) < 3:
        description = f"OCPP-J array with {len(data)} elements"
        if len(data) == 2 and _kind(data[0], types) == Kind.CALL:
            # `[2, "id"]`: a Call whose id is readable is answered, like one without a Payload.
            raise _Unreadable("bad_structure", description + ": a Call needs an Action", _message_id(data[1]),
                              "ProtocolError")  # fmt: skip
        # A SEND's or a CALLRESULTERROR's id is kept for the log (it is not answered: no "-1" either).
        raise _Unreadable("bad_structure", description, "" if answered else _readable_id(data), answered=answered)
    try:
        message_id = _message_id(data[1])
    except _Unreadable as exc:
        exc.answered = answered
        raise
    try:
        kind = _kind(data[0], types)
    except _Unreadable as exc:
        # The id is readable: 2.0.1 answers an unknown MessageTypeId MessageTypeNotSupported.
        raise _Unreadable(exc.reason, exc.description, message_id, _MESSAGE_TYPE) from None
    if kind in (Kind.CALL, Kind.SEND):
        read = _call_fields if kind == Kind.CALL else _send_fields
        return read(message_id, data[2], data[3] if len(data) > 3 else None, has_payload=len(data) > 3)
    if kind == Kind.RESULT:
        return {"kind": kind, "message_id": message_id, "payload": data[2]}
    return {
        "kind": kind,
        "message_id": message_id,
        "error_code": str(data[2]),
        "error_description": str(data[3]) if len(data) > 3 else "",
        "error_details": data[4] if len(data) > 4 else None,
    }


def _readable_id(data: list[Any]) -> str:
    """The message id of a short array, for the log only ("" when there is none worth keeping)."""
    if len(data) > 1 and isinstance(data[1], str) and 0 < len(data[1]) <= MAX_MESSAGE_ID_LENGTH:
        return data[1]
    return ""
