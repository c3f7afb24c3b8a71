"""OCPP 2.0.1's spellings and the limits its payloads meet here: data only, read by ``protocols.validation``.

Three kinds of limits, all answered ``PropertyConstraintViolation`` naming the field:

- ``COLUMN_RANGES``: top-level integer fields wider in the schema than the column they land in
  (checked after the schema, as for 1.6);
- ``DEFINITION_BOUNDS``: integer fields inside the schema's ``definitions`` (an EVSE's id in
  ``evse``, in every ``component`` of a NotifyReport, ...), whose bounds are written into our copy
  of the schema, so that the validator finds them wherever the definition is used, arrays included,
  and names the field by its path (``reportData.3.component.evse.id``);
- ``DEFINITION_REPLACEMENTS``: definitions our copy of a schema replaces. IdTokenEnumType becomes any
  short string in the Calls a station sends: a token type we do not accept (``Cash``) is answered
  with an ordinary ``Invalid`` status by the handler, never a CallError (OCTT insists). The ``ocpp``
  package's own schemas stay as they are (the simulator validates with them).

2.0.1 has no ``multipleOf`` in its schemas: no schema is validated with Decimal numbers.
"""

from __future__ import annotations

from typing import Any

SPELLING = {"format": "FormatViolation", "occurrence": "OccurrenceConstraintViolation"}

CALL, RESULT = 2, 3  # OCPP-J MessageTypeId

DECIMAL_SCHEMAS: frozenset[tuple[int, str]] = frozenset()

# What a schema's "integer" (unbounded) becomes in the column that keeps it, in PostgreSQL.
_INTEGER = (-(2**31), 2**31 - 1)  # IntegerField
_POSITIVE_INTEGER = (0, 2**31 - 1)  # PositiveIntegerField: an integer with CHECK (>= 0)
_BIGINT = (-(2**63), 2**63 - 1)  # BigIntegerField

_Ranges = tuple[tuple[str, tuple[int, int]], ...]

# Top-level integer fields -> the range of the column they land in (chargers/models.py,
# transactions/models.py). Both directions: the CSMS's own Calls are validated by command_check, so
# an API request past a column is refused there too, and the results we store are validated on
# arrival. requestId and remoteStartId are 2.0.1 "integer"s (32 bits in OCPP-J) matched against
# what we sent or keep.
COLUMN_RANGES: dict[tuple[int, str], _Ranges] = {
    # Connector.evse_id, .connector_id
    (CALL, "StatusNotification"): (("evseId", _POSITIVE_INTEGER), ("connectorId", _POSITIVE_INTEGER)),
    # MeterValue.connector_id (the EVSE for 2.0.1)
    (CALL, "MeterValues"): (("evseId", _POSITIVE_INTEGER),),
    # TransactionEvent.seq_no, Transaction.reservation_id
    (CALL, "TransactionEvent"): (("seqNo", _BIGINT), ("reservationId", _INTEGER)),
    # The report's request (the parts' record) and its part number
    (CALL, "NotifyReport"): (("requestId", _INTEGER), ("seqNo", _BIGINT)),
    # Reservation.reservation_id
    (CALL, "ReservationStatusUpdate"): (("reservationId", _INTEGER),),
    # --- the CSMS's commands and their results
    (CALL, "RequestStartTransaction"): (("evseId", _POSITIVE_INTEGER), ("remoteStartId", _INTEGER)),
    (CALL, "ReserveNow"): (("id", _INTEGER), ("evseId", _POSITIVE_INTEGER)),
    (CALL, "CancelReservation"): (("reservationId", _INTEGER),),
    (CALL, "SetChargingProfile"): (("evseId", _POSITIVE_INTEGER),),
    (CALL, "ClearChargingProfile"): (("chargingProfileId", _INTEGER),),
    (CALL, "SendLocalList"): (("versionNumber", _INTEGER),),
    (RESULT, "GetLocalListVersion"): (("versionNumber", _INTEGER),),
    (CALL, "UnlockConnector"): (("evseId", _POSITIVE_INTEGER), ("connectorId", _POSITIVE_INTEGER)),
    (CALL, "Reset"): (("evseId", _POSITIVE_INTEGER),),
    (CALL, "GetBaseReport"): (("requestId", _INTEGER),),
    (CALL, "GetReport"): (("requestId", _INTEGER),),
}

_EVSE = {"id": _POSITIVE_INTEGER, "connectorId": _POSITIVE_INTEGER}  # Evse.evse_id, Connector.connector_id
_PROFILE = {"id": _INTEGER, "stackLevel": _POSITIVE_INTEGER}  # ChargingProfile.profile_id, .stack_level

# (kind, action) -> {definition: {property: column range}}: integer fields inside definitions.
DEFINITION_BOUNDS: dict[tuple[int, str], dict[str, dict[str, tuple[int, int]]]] = {
    # TransactionEvent.evse_id/connector_id, Transaction.remote_start_id, .time_spent_charging
    (CALL, "TransactionEvent"): {
        "EVSEType": _EVSE,
        "TransactionType": {"remoteStartId": _INTEGER, "timeSpentCharging": _POSITIVE_INTEGER},
    },
    # DeviceVariable.evse_id, .connector_id
    (CALL, "NotifyReport"): {"EVSEType": _EVSE},
    (CALL, "GetVariables"): {"EVSEType": _EVSE},
    (RESULT, "GetVariables"): {"EVSEType": _EVSE},
    (CALL, "SetVariables"): {"EVSEType": _EVSE},
    (RESULT, "SetVariables"): {"EVSEType": _EVSE},
    (CALL, "GetReport"): {"EVSEType": _EVSE},
    # Evse / Connector availability, what a trigger names
    (CALL, "ChangeAvailability"): {"EVSEType": _EVSE},
    (CALL, "TriggerMessage"): {"EVSEType": _EVSE},
    # ChargingProfile rows
    (CALL, "RequestStartTransaction"): {"ChargingProfileType": _PROFILE},
    (CALL, "SetChargingProfile"): {"ChargingProfileType": _PROFILE},
    (CALL, "ClearChargingProfile"): {
        "ClearChargingProfileType": {"evseId": _POSITIVE_INTEGER, "stackLevel": _POSITIVE_INTEGER}
    },
}

# A token type is any string of 2.1's IdTokenType.type length (20) in what a station sends; what we
# accept is the handler's to say (chargers.models.IdTokenType).
ANY_TOKEN_TYPE: dict[str, Any] = {"type": "string", "maxLength": 20}

DEFINITION_REPLACEMENTS: dict[tuple[int, str], dict[str, dict[str, Any]]] = {
    (CALL, "Authorize"): {"IdTokenEnumType": ANY_TOKEN_TYPE},
    (CALL, "TransactionEvent"): {"IdTokenEnumType": ANY_TOKEN_TYPE},
}
