"""Schema validation against the official OCPP JSON schemas shipped in the ``ocpp`` package.

The package's own ``validate_payload`` does not name the offending field and answers with 2.0.1
spellings; we use its schemas and cached validators, and map the first error to the precise
OCPP-J error code in the charger's version's spelling (1.6 ``FormationViolation`` and
``OccurenceConstraintViolation``, 2.0.1 ``FormatViolation`` and ``OccurrenceConstraintViolation``).

Every inbound message is validated, so the happy path must be cheap: the same schemas compiled
with fastjsonschema (about 25x faster than jsonschema here: 8 us against 200 us for a MeterValues
with five sampled values) say whether a payload is valid; only a payload they reject goes through
jsonschema, which names the field and the constraint (and has the last word).

A version may patch our copies of its schemas (never the package's): 2.0.1 bounds integer fields
inside definitions to our columns and lets a station send any token type (``v201.errors``); 2.1
(``v21.errors``) reuses 2.0.1's patches on its own schemas.

Which message types a version's framing has is here too (``message_types``): 1.6 and 2.0.1 know
Call, CallResult and CallError; 2.1 adds CALLRESULTERROR (5) and SEND (6). A SEND is validated
against the schema named after its action alone (``NotifyPeriodicEventStream.json``).
"""

from __future__ import annotations

import copy
import decimal
import enum
from collections.abc import Callable
from typing import Any, cast

import fastjsonschema
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError, best_match
from ocpp.messages import get_validator

from .v16 import errors as v16
from .v21 import errors as v21
from .v201 import errors as v201


class MessageType(enum.IntEnum):
    """OCPP-J MessageTypeId (the transport's ``Kind`` compares and hashes the same)."""

    CALL = 2
    RESULT = 3
    ERROR = 4
    RESULT_ERROR = 5  # 2.1 CALLRESULTERROR: the receiver of a CallResult could not take it; never answered
    SEND = 6  # 2.1 SEND: a message that is never answered


Kind = MessageType  # the name the callers use (``mqtt_bridge.frames.Kind`` is an equal IntEnum)

# Per version: the spellings of two error codes, the schemas validated with Decimal numbers, and
# the integer fields whose column is narrower than the schema. A version without an entry is
# validated like 1.6 (the spelling the decoder uses before a frame's version is known).
_VERSIONS = {"1.6": v16, "2.0.1": v201, "2.1": v21}

# The message types of OCPP-J 1.6 and 2.0.1; a version's errors module may list more (``MESSAGE_TYPES``).
BASE_MESSAGE_TYPES = frozenset({MessageType.CALL, MessageType.RESULT, MessageType.ERROR})


class OcppError(Exception):
    """An OCPP-J CallError to answer with: code (already in the right spelling) and description."""

    def __init__(self, code: str, description: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}


def error_code(kind: str, ocpp_version: str) -> str:
    """``kind`` is "format" or "occurrence"; returns the version's spelling."""
    return _VERSIONS.get(ocpp_version, v16).SPELLING[kind]


def message_types(ocpp_version: str) -> frozenset[int]:
    """The MessageTypeIds ``ocpp_version``'s framing has (a version we do not know: 1.6's three)."""
    types: frozenset[int] = getattr(_VERSIONS.get(ocpp_version), "MESSAGE_TYPES", BASE_MESSAGE_TYPES)
    return types


def validate(kind: int, action: str, payload: Any, ocpp_version: str = "1.6") -> None:
    """Raise OcppError when ``payload`` does not conform to the schema of ``action``'s Call or result.

    ``kind`` is the OCPP-J MessageTypeId (``MessageType``, or the transport's equal ``Kind``)."""
    use_decimal = (kind, action) in _VERSIONS.get(ocpp_version, v16).DECIMAL_SCHEMAS
    try:
        validator = schema_validator(kind, action, ocpp_version)
    except OSError:
        raise OcppError("NotImplemented", f"No schema for {action}") from None
    if use_decimal:
        payload = _to_decimal(payload)
        # multipleOf divides: 1e300 % 0.1 needs a 301-digit quotient, past the default 28-digit
        # context (DivisionImpossible). 400 digits cover any double (at most 1.8e308).
        with decimal.localcontext(prec=400):
            error = best_match(validator.iter_errors(payload))
    else:
        try:
            _fast_validator(kind, action, ocpp_version, cast(dict[str, Any], validator.schema))(payload)
        except fastjsonschema.JsonSchemaValueException:
            # jsonschema names the field (and has the last word)
            error = best_match(validator.iter_errors(payload))
        else:
            error = None
    if error is not None:
        raise _map(error, ocpp_version)
    _check_columns(kind, action, payload, ocpp_version)


# Every version's column ranges in one table (``(version, kind, action)``), as the tests read it.
_COLUMN_RANGES = {
    (version, kind, action): fields
    for version, module in _VERSIONS.items()
    for (kind, action), fields in module.COLUMN_RANGES.items()
}


def _check_columns(kind: int, action: str, payload: Any, ocpp_version: str) -> None:
    """PropertyConstraintViolation for a schema-valid integer that the column it lands in cannot hold."""
    for field, (low, high) in _COLUMN_RANGES.get((ocpp_version, kind, action), ()):
        value = payload
        for name in field.split("."):
            value = value.get(name) if isinstance(value, dict) else None
        # Absent optional fields are None; the schema has already refused non-integers.
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            bound = f"below {low}" if value < low else f"above {high}"
            description = f"field '{field}': {value} is {bound}, past what this CSMS can store"
            raise OcppError("PropertyConstraintViolation", description[:255], {"field": field, "constraint": "range"})


def schema_validator(kind: int, action: str, ocpp_version: str = "1.6") -> Draft4Validator:
    """The jsonschema validator of ``action``'s Call or result, as ``validate`` uses it; OSError when there is none.

    Ask here, not ``ocpp.messages.get_validator``: its cache ignores ``parse_float``, so whoever
    asks first for a schema with 1-decimal numbers decides whether its ``multipleOf`` is a float
    or a Decimal for everyone (a float one makes Decimal payloads raise TypeError in jsonschema).
    """
    key = (kind, action, ocpp_version)
    if key not in _validators:
        if (kind, action) in _VERSIONS.get(ocpp_version, v16).DECIMAL_SCHEMAS:
            # Ask as the package itself asks for these schemas (Decimal): were we first with floats,
            # the package's cache would hand the float validator to its own Decimal validation (the
            # `ocpp` ChargePoint of the simulator, in the same process) and it raises TypeError.
            validator = get_validator(int(kind), action, ocpp_version, parse_float=decimal.Decimal)
            # Our own copy with Decimal numbers (0.1 exactly), whichever the package cached first.
            validator = Draft4Validator(_to_decimal(validator.schema))
        else:
            validator = get_validator(int(kind), action, ocpp_version)
        schema = _patched(cast(dict[str, Any], validator.schema), kind, action, ocpp_version)
        if schema is not None:
            validator = Draft4Validator(schema)
        _validators[key] = validator
    return _validators[key]


def _patched(schema: dict[str, Any], kind: int, action: str, ocpp_version: str) -> dict[str, Any] | None:
    """Our copy of ``schema`` with the version's definition patches (``DEFINITION_REPLACEMENTS``, the
    column bounds of ``DEFINITION_BOUNDS``), or None when it has none. The ``ocpp`` package's cached
    schema is never changed: its own validation (the simulator's) keeps the official one."""
    module = _VERSIONS.get(ocpp_version, v16)
    replacements = getattr(module, "DEFINITION_REPLACEMENTS", {}).get((kind, action), {})
    bounds = getattr(module, "DEFINITION_BOUNDS", {}).get((kind, action), {})
    if not replacements and not bounds:
        return None
    schema = copy.deepcopy(schema)
    definitions = schema["definitions"]
    for name, replacement in replacements.items():
        definitions[name] = copy.deepcopy(replacement)
    for name, fields in bounds.items():
        for field, (low, high) in fields.items():
            definitions[name]["properties"][field].update(minimum=low, maximum=high)
    return schema


_validators: dict[tuple[int, str, str], Draft4Validator] = {}
_fast_validators: dict[tuple[int, str, str], Callable[[Any], Any]] = {}


def _fast_validator(kind: int, action: str, ocpp_version: str, schema: dict[str, Any]) -> Callable[[Any], Any]:
    key = (kind, action, ocpp_version)
    if key not in _fast_validators:
        _fast_validators[key] = fastjsonschema.compile(
            schema,
            # jsonschema (without a format checker) does not check formats: neither do we here.
            # Timestamps are parsed by the handlers, which name the field when one is not a date.
            formats={"date-time": lambda value: True, "uri": lambda value: True},
            use_default=False,  # never write defaults into the charger's payload
            detailed_exceptions=False,
        )
    return _fast_validators[key]


def _to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_decimal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_decimal(v) for v in value]
    return value


def _field(error: ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path = f"{path}.{missing}" if path else missing
    return path or "(payload)"


def _map(error: ValidationError, ocpp_version: str) -> OcppError:
    field = _field(error)
    details = {"field": field, "constraint": str(error.validator)}
    if error.validator == "required":
        return OcppError(error_code("occurrence", ocpp_version), f"missing required field '{field}'", details)
    if error.validator == "type":
        return OcppError("TypeConstraintViolation", f"field '{field}': {error.message}", details)
    if error.validator == "additionalProperties":
        return OcppError(error_code("format", ocpp_version), f"{error.message}", details)
    if error.validator in {"enum", "maxLength", "minLength", "minimum", "maximum", "multipleOf", "format", "pattern"}:
        return OcppError("PropertyConstraintViolation", f"field '{field}': {error.message}"[:255], details)
    return OcppError(error_code("format", ocpp_version), f"field '{field}': {error.message}"[:255], details)
