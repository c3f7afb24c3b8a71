"""OCPP 1.6's spellings and the limits its payloads meet here: data only, read by ``protocols.validation``."""

from __future__ import annotations

# OCPP-J 1.6 misspells two error codes; a 1.6 charger must get them as its spec writes them.
SPELLING = {"format": "FormationViolation", "occurrence": "OccurenceConstraintViolation"}

CALL, RESULT = 2, 3  # OCPP-J MessageTypeId

# Schemas with 1-decimal numbers: validated with Decimal so that 21.4 is not 21.399999999999995.
DECIMAL_SCHEMAS = frozenset(
    {
        (CALL, "SetChargingProfile"),
        (CALL, "RemoteStartTransaction"),
        (RESULT, "GetCompositeSchedule"),
    }
)

# What a schema's "integer" (unbounded) becomes in the column that keeps it, in PostgreSQL.
_INTEGER = (-(2**31), 2**31 - 1)  # IntegerField
_POSITIVE_INTEGER = (0, 2**31 - 1)  # PositiveIntegerField: an integer with CHECK (>= 0)
_BIGINT = (-(2**63), 2**63 - 1)  # BigIntegerField, BigAutoField (our primary keys)

# Integer fields the schema allows wider than the column they land in (chargers/models.py,
# transactions/models.py): a value past the column fails the statement of a whole wave, or a check
# constraint, and would be answered InternalError. Both directions: the CSMS's own Calls are
# validated by command_check, so an API request past a column is refused there too.
COLUMN_RANGES: dict[tuple[int, str], tuple[tuple[str, tuple[int, int]], ...]] = {
    # Connector.connector_id
    (CALL, "StatusNotification"): (("connectorId", _POSITIVE_INTEGER),),
    # Transaction.connector_id, .meter_start, .reservation_id
    (CALL, "StartTransaction"): (
        ("connectorId", _POSITIVE_INTEGER),
        ("meterStart", _BIGINT),
        ("reservationId", _INTEGER),
    ),
    # Transaction.pk, .meter_stop
    (CALL, "StopTransaction"): (("transactionId", _BIGINT), ("meterStop", _BIGINT)),
    # MeterValue.connector_id, .transaction (a Transaction.pk)
    (CALL, "MeterValues"): (("connectorId", _POSITIVE_INTEGER), ("transactionId", _BIGINT)),
    # ChargePoint.local_list_version
    (RESULT, "GetLocalListVersion"): (("listVersion", _INTEGER),),
    (CALL, "SendLocalList"): (("listVersion", _INTEGER),),
    # Reservation.reservation_id, .connector_id
    (CALL, "ReserveNow"): (("reservationId", _INTEGER), ("connectorId", _POSITIVE_INTEGER)),
    (CALL, "CancelReservation"): (("reservationId", _INTEGER),),
    # A Transaction.pk
    (CALL, "RemoteStopTransaction"): (("transactionId", _BIGINT),),
    # ChargingProfile.connector_id, .profile_id, .stack_level
    (CALL, "SetChargingProfile"): (
        ("connectorId", _POSITIVE_INTEGER),
        ("csChargingProfiles.chargingProfileId", _INTEGER),
        ("csChargingProfiles.stackLevel", _POSITIVE_INTEGER),
    ),
    (CALL, "ClearChargingProfile"): (
        ("id", _INTEGER),
        ("connectorId", _POSITIVE_INTEGER),
        ("stackLevel", _POSITIVE_INTEGER),
    ),
}
