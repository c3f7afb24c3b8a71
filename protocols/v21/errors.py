"""OCPP 2.1's spellings, limits and framing: data only, read by ``protocols.validation``.

2.1 spells its error codes as 2.0.1 does (FormatViolation, OccurrenceConstraintViolation) and keeps
2.0.1's messages with their integer fields, so 2.0.1's column ranges and definition bounds apply to
2.1's schemas as they are (every definition they name exists in 2.1's schemas too: checked by
``protocols.v21.tests``). 2.0.1's token type replacement is not needed: 2.1's ``IdTokenType.type`` is
already any string of at most 20 characters (IdTokenEnumStringType), and its ``idToken`` takes 255.

``MESSAGE_TYPES``: 2.1's framing adds CALLRESULTERROR (5: the receiver of a CallResult reports that it
could not take it) and SEND (6: a message that is never answered) to Call, CallResult and CallError.
"""

from __future__ import annotations

from typing import Any

from ..v201 import errors as v201

SPELLING = v201.SPELLING

CALL, RESULT = 2, 3  # OCPP-J MessageTypeId
CALL_RESULT_ERROR, SEND = 5, 6

MESSAGE_TYPES = frozenset({CALL, RESULT, 4, CALL_RESULT_ERROR, SEND})

DECIMAL_SCHEMAS: frozenset[tuple[int, str]] = frozenset()

_INTEGER = (-(2**31), 2**31 - 1)

# 2.0.1's, and the stream ids 2.1's periodic event streams land in (eventstreams.PeriodicEventStream.stream_id).
COLUMN_RANGES: dict[tuple[int, str], Any] = {
    **v201.COLUMN_RANGES,
    (CALL, "ClosePeriodicEventStream"): (("id", _INTEGER),),
    (SEND, "NotifyPeriodicEventStream"): (("id", _INTEGER), ("pending", _INTEGER)),
    (CALL, "AdjustPeriodicEventStream"): (("id", _INTEGER),),
}

DEFINITION_BOUNDS: dict[tuple[int, str], dict[str, dict[str, tuple[int, int]]]] = {
    **v201.DEFINITION_BOUNDS,
    (CALL, "OpenPeriodicEventStream"): {
        "ConstantStreamDataType": {"id": _INTEGER, "variableMonitoringId": _INTEGER},
        "PeriodicEventStreamParamsType": {"interval": _INTEGER, "values": _INTEGER},
    },
    (RESULT, "GetPeriodicEventStream"): {
        "ConstantStreamDataType": {"id": _INTEGER, "variableMonitoringId": _INTEGER},
        "PeriodicEventStreamParamsType": {"interval": _INTEGER, "values": _INTEGER},
    },
    (CALL, "AdjustPeriodicEventStream"): {"PeriodicEventStreamParamsType": {"interval": _INTEGER, "values": _INTEGER}},
}
