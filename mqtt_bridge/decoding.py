"""The one bounded JSON decoder of every transport (MQTT bridge, WebSocket gateway, AMQP).

A charger controls every byte we parse, so decoding is where its limits are enforced, before
anything reaches Celery, pickle, kombu or PostgreSQL (MEASURED.md, "Decoding hostile input"):

- **size**: at most ``CSMS_MAX_PAYLOAD_BYTES`` (reason ``oversized``); the UniqueId of a Call is
  still read from its first bytes (``readable_call_id``) so that the charger gets an answer.
- **nesting depth**: at most ``CSMS_MAX_JSON_DEPTH`` containers, the envelope included (``too_deep``).
  The deepest OCPP 1.6 message is 6 levels (an EMQX envelope around a SetChargingProfile), the
  deepest 2.0.1 schema 14 (ReportChargingProfiles); the default 32 leaves vendor ``customData`` and
  DataTransfer room while staying far below the ~500 levels where pickle kills a worker, the ~980
  where kombu's JSON fails and the ~1,000 where the stdlib decoder overflows the stack.
- **numbers**: integers must fit in 64 bits (PostgreSQL ``bigint``, our widest integer column;
  ``number_too_large``), and no number may overflow a double (``1e999``, which Python reads as
  Infinity and jsonb rejects: ``not_finite``). The literals ``NaN`` and ``Infinity`` are not JSON
  (``not_json``). Huge integers are never converted to ``int`` (that is quadratic in Python, and
  limited to 4,300 digits): they are rejected from their digit count.
- **Unicode**: a lone surrogate escape (``"\\ud800"``) is valid JSON but not Unicode text; it is
  **rejected** (``invalid_unicode``), not replaced with U+FFFD. Replacing would silently alter the
  charger's data (an idTag, a meter serial number) and store something it never sent; a
  FormationViolation tells the charger, and the message log keeps the raw text as received.
  Bytes that are not UTF-8 are not JSON text (``not_json``): OCPP-J is UTF-8, and UTF-16/32,
  which the stdlib decoder also guessed, are refused.
- **NUL**: PostgreSQL stores U+0000 neither in ``text`` nor in ``jsonb`` (``nul_character``).

``loads`` raises nothing but ``DecodeError``, whatever the bytes: no ``RecursionError``,
``MemoryError`` or digit-limit ``ValueError``.

How, and why orjson (``python -m bench.decode``; the figures are in that module's docstring):
orjson parses in C with a hard depth limit of 1,024 (so it cannot overflow the stack), refuses
lone surrogates, invalid UTF-8, ``NaN`` and numbers that overflow a double, and is about twice as
fast as the stdlib decoder on our frames. What it does not check is gated by scans of the bytes
at C speed (``count``, ``in``, ``translate``), so a common frame pays only for those scans:

- depth: a message with at most ``max_depth`` ``[`` and ``{`` cannot nest deeper; a bigger one
  has its nesting measured from its bytes (``_depth_exceeds``), about ten times cheaper than
  walking the decoded value.
- NUL: JSON writes it only as the escape ``\\u0000`` (a raw control character is not JSON), so
  only a message holding that escape is walked (iteratively).
- integers: orjson reads integers past 64 bits as floats (silently altered); a message holding a
  run of 19 digits or more where a number may start (not after a quote: an ICCID is a string) is
  decoded again by the stdlib decoder with an exact, bounded integer reader, which is safe
  because its depth is known by then.

The alternative, the stdlib decoder with an iterative walk of every decoded frame for the same
limits (and it would still need a depth pre-scan: it overflows the stack near 1,000 levels),
costs two to three times as much as before instead of half.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from django.conf import settings

from protocols.validation import error_code

from .frames import MAX_MESSAGE_ID_LENGTH

# Reasons: short slugs, the `reason` label of csms_frames_rejected_total.
OVERSIZED = "oversized"
NOT_JSON = "not_json"
TOO_DEEP = "too_deep"
NUMBER_TOO_LARGE = "number_too_large"
NOT_FINITE = "not_finite"
INVALID_UNICODE = "invalid_unicode"
NUL_CHARACTER = "nul_character"

# The OCPP-J error of a Call failing a limit. A number the JSON grammar allows but no column of
# ours (nor a double) can hold is "syntactically correct but a field contains an invalid value":
# PropertyConstraintViolation. Everything else is a malformed message: the format violation
# (FormationViolation in 1.6, FormatViolation in 2.0.1).
_PROPERTY_REASONS = frozenset({NUMBER_TOO_LARGE, NOT_FINITE})

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT64_DIGITS = 19  # 2**63 has 19 digits: any integer past 64 bits has at least as many

# The scans of the bytes (str.translate and `in` run at C speed; a regex for a run of digits was
# ten times slower than orjson itself).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * _INT64_DIGITS
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'[]{}"'))
_QUOTED = re.compile(rb'"[^"]*"')
# What may precede the first digit of a number token (b"": the document's start).
_BEFORE_NUMBER = frozenset((b"", b"-", b"[", b":", b",", b" ", b"\t", b"\n", b"\r"))
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?")

# readable_call_id looks no further than this: the envelope's first members, before any payload
# (at most ~400 bytes: a 36-character id written in \uXXXX escapes, a 64-character action).
_HEAD_BYTES = 512
_STRING = rb'"(?:[^"\\]|\\.)*"'
_SCALAR = rb"-?[0-9][0-9.eE+-]*|true|false|null"
_OCPPJ_START = re.compile(rb"\s*\[\s*([0-9]+)\s*,\s*(" + _STRING + rb")", re.DOTALL)
_OBJECT_START = re.compile(rb"\s*\{")
_MEMBER = re.compile(rb"\s*(" + _STRING + rb")\s*:\s*(" + _STRING + rb"|" + _SCALAR + rb")\s*([,}])", re.DOTALL)
# An envelope has at most seven members (MessageTypeId, UniqueId, Action, Payload or ErrorCode,
# ErrorDescription, ErrorDetails): reading more is only work for garbage.
_MAX_MEMBERS = 8


class DecodeError(ValueError):
    """A payload that fails a limit: ``reason`` for metrics, ``description`` for the charger and the log."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description

    def error_code(self, ocpp_version: str) -> str:
        """The OCPP-J error code answering a Call that failed this way, in ``ocpp_version``'s spelling."""
        if self.reason in _PROPERTY_REASONS:
            return "PropertyConstraintViolation"
        return error_code("format", ocpp_version)


def loads(payload: bytes | str, *, max_depth: int | None = None, max_bytes: int | None = None) -> Any:
    """Decode one JSON message within the limits (defaults: ``CSMS_MAX_JSON_DEPTH``, ``CSMS_MAX_PAYLOAD_BYTES``).

    Raises DecodeError, and nothing else, when the payload is not JSON or fails a limit.
    """
    depth_limit = settings.CSMS_MAX_JSON_DEPTH if max_depth is None else max_depth
    size_limit = settings.CSMS_MAX_PAYLOAD_BYTES if max_bytes is None else max_bytes
    if isinstance(payload, str):
        try:
            payload = payload.encode()
        except UnicodeEncodeError:  # a str holding a lone surrogate (a WebSocket library's text)
            raise DecodeError(INVALID_UNICODE, "payload holds a lone surrogate, which is not Unicode text") from None
    if len(payload) > size_limit:
        description = f"payload of {len(payload)} bytes exceeds CSMS_MAX_PAYLOAD_BYTES={size_limit}"
        raise DecodeError(OVERSIZED, description)
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise _refusal(exc, payload, depth_limit) from None
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:  # never seen: the contract holds anyway
        raise DecodeError(NOT_JSON, f"payload is not JSON ({type(exc).__name__})") from None
    # A message with no more brackets than the limit cannot nest deeper: most never pay for the scan.
    if payload.count(b"[") + payload.count(b"{") > depth_limit and _depth_exceeds(payload, depth_limit):
        raise _too_deep(depth_limit)
    if b"\\u0000" in payload and _contains_nul(data):
        raise _nul()
    if _long_integer(payload):
        data = _exact(payload)
    return data


def _refusal(exc: orjson.JSONDecodeError, payload: bytes, depth_limit: int) -> DecodeError:
    message = exc.msg
    if message.startswith("depth limit exceeded"):
        return _too_deep(depth_limit)
    if message.startswith("number is infinity"):
        # pos counts characters, not bytes; orjson has checked the UTF-8 before it met the number.
        token = _NUMBER.match(payload.decode("utf-8", "replace"), exc.pos)
        if token is not None and token.group(1) is None and token.group(2) is None:
            digits = len(token.group().lstrip("-"))
            return DecodeError(NUMBER_TOO_LARGE, f"an integer of {digits} digits does not fit in 64 bits")
        shown = token.group()[:24] if token is not None else "a number"
        return DecodeError(NOT_FINITE, f"{shown} is beyond the range of a double")
    if "surrogate in string" in message:
        return DecodeError(INVALID_UNICODE, f"a string holds a lone surrogate, which is not Unicode text ({message})")
    if "not valid UTF-8" in message:
        return DecodeError(NOT_JSON, "payload is not UTF-8 text")
    return DecodeError(NOT_JSON, f"payload is not JSON: {message} at byte {exc.pos}"[:200])


def _too_deep(depth_limit: int) -> DecodeError:
    return DecodeError(TOO_DEEP, f"payload nests deeper than {depth_limit} levels (CSMS_MAX_JSON_DEPTH)")


def _depth_exceeds(payload: bytes, depth_limit: int) -> bool:
    """Whether the (valid JSON) payload nests deeper than ``depth_limit``, from its bytes at C speed.

    Escapes go first (an escaped backslash, then an escaped quote), so that every quote left opens
    or closes a string; then everything but brackets and quotes, then the strings (brackets in
    them are text). What is left is the bare nesting: each pass removes its innermost level.
    """
    if b"\\" in payload:
        payload = payload.replace(b"\\\\", b"").replace(b'\\"', b"")
    shape = payload.translate(_BRACKETS, _NOT_STRUCTURE)
    # Mostly empty now: removing two adjacent quotes at most merges two strings (their text is
    # dropped anyway), and leaves the few that hold a bracket to the regex.
    shape = shape.replace(b'""', b"")
    if b'"' in shape:
        shape = _QUOTED.sub(b"", shape)
    for _ in range(depth_limit):
        if not shape:
            return False
        shape = shape.replace(b"[]", b"")
    return bool(shape)


def _contains_nul(data: Any) -> bool:
    pending = [data]  # a loop, not recursion: orjson allows 1,024 levels, Python's stack 1,000 frames
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending += value.keys()
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return False


def _nul() -> DecodeError:
    return DecodeError(NUL_CHARACTER, "payload contains the NUL character (\\u0000), which this CSMS cannot store")


def _long_integer(payload: bytes) -> bool:
    """Whether a run of 19 digits or more may be an integer token (not inside a string like an ICCID).

    A run whose first digit follows a quote or a letter is text; one after a space or a comma may
    be text too, which only costs the exact decoding.
    """
    shape = payload.translate(_DIGITS_AS_ZERO)
    at = shape.find(_LONG_RUN)  # the leftmost match is where a run starts
    while at >= 0:
        if payload[at - 1 : at] in _BEFORE_NUMBER:
            return True
        end = at + _INT64_DIGITS
        while shape[end : end + 1] == b"0":
            end += 1
        at = shape.find(_LONG_RUN, end)
    return False


def _exact(payload: bytes) -> Any:
    """Decode again with exact integers; only for the rare message with a long run of digits.

    Safe: orjson accepted the message and its depth is within the limit, far below the stdlib
    decoder's recursion limit.
    """

    def integer(text: str) -> int:
        # The length first: int() of a 100,000-digit string is slow and past 4,300 raises.
        if len(text.lstrip("-")) > _INT64_DIGITS or not INT64_MIN <= (value := int(text)) <= INT64_MAX:
            raise DecodeError(NUMBER_TOO_LARGE, f"the integer {_shorten(text)} does not fit in 64 bits")
        return value

    try:
        return json.loads(payload, parse_int=integer)
    except DecodeError:
        raise
    except (ValueError, RecursionError, MemoryError) as exc:  # never seen: orjson accepted it
        raise DecodeError(NOT_JSON, f"payload is not JSON ({type(exc).__name__})") from None


def _shorten(digits: str) -> str:
    return digits if len(digits) <= 24 else f"{digits[:12]}...({len(digits.lstrip('-'))} digits)"


def readable_call_id(payload: bytes) -> tuple[str, str] | None:
    """``(dialect, message id)`` of a Call read from the first bytes of a payload that did not decode.

    For an oversized, too deep or otherwise refused message: enough to answer the charger with a
    CallError. A result or an error (MessageTypeId 3 or 4) gives None: OCPP never answers those.
    """
    message = readable_message(payload)
    if message is None or message[1] != 2:
        return None
    return message[0], message[2]


def readable_message(payload: bytes) -> tuple[str, int, str] | None:
    """``(dialect, MessageTypeId, message id)`` read from the first bytes of any payload, or None.

    Only the top-level members before the first nested value are read (EMQX envelopes carry
    MessageTypeId and UniqueId before the Payload), so a ``UniqueId`` inside a payload is never
    taken for the message's. The id must be one we can answer to and store: 1 to 36 characters of
    Unicode text without NUL.
    """
    head = payload[:_HEAD_BYTES]
    array = _OCPPJ_START.match(head)
    if array is not None:
        kind, message_id = _token(array.group(1)), _message_id(array.group(2))
    else:
        start = _OBJECT_START.match(head)
        if start is None:
            return None
        members: dict[str, bytes] = {}
        position = start.end()
        for _ in range(_MAX_MEMBERS):
            member = _MEMBER.match(head, position)
            if member is None:
                break
            key = _token(member.group(1))
            if isinstance(key, str) and key not in members:
                members[key] = member.group(2)
            position = member.end()
            if member.group(3) == b"}":
                break
        kind = _token(members.get("MessageTypeId", b""))
        message_id = _message_id(members.get("UniqueId", b""))
    # bool is an int in Python, and 2.0 == 2: neither is a MessageTypeId (EMQX drops both, and "2").
    # 5 and 6 are OCPP 2.1's (CALLRESULTERROR, SEND): read, so that they are known never to be answered.
    if type(kind) is not int or kind not in (2, 3, 4, 5, 6) or not message_id:
        return None
    return ("ocppj" if array is not None else "emqx"), kind, message_id


def _token(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError: not a readable token
        return None


def _message_id(raw: bytes) -> str:
    """The message id in a JSON string token, or "" when it is not one we can answer to."""
    value = _token(raw)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_MESSAGE_ID_LENGTH or "\x00" in value:
        return ""
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate: not storable, not sendable
        return ""
    return value
