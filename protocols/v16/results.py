"""What an answered 1.6 command changes: configuration keys, reservations, charging profiles, the
local list version, a reset's reboot, and (security extension) the certificate a CertificateSigned carried
and the charger's certificate inventory (``certificates.services``). Called by the processing, in the results'
transaction, for the commands whose results were recorded (``chargers.services.commands_results_record``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backoffice import bulk
from certificates import services as certificates
from chargers.models import ChargePoint, ChargingProfile, Command, ConfigurationKey, Reservation


def commands_results_apply(*, commands: list[Command], now: datetime) -> None:
    """Apply the state changes answered commands imply (called in the results' transaction).

    The configuration keys of every GetConfiguration among them go in one upsert (a charger
    reports dozens, and a reconnection storm brings one GetConfiguration per charger); the
    other actions' effects one command at a time.
    """
    keys: dict[tuple[int, str], tuple[str | None, bool]] = {}
    for command in commands:
        if command.status not in (Command.Status.ACCEPTED, Command.Status.REJECTED):
            continue
        response = command.response or {}
        if command.action == "GetConfiguration":
            leaked = False
            for item in response.get("configurationKey", []):
                if item["key"] == SECRET_KEY and item.get("value"):
                    # A charger that reports its AuthorizationKey (write-only in the whitepaper): neither the
                    # key's row nor the kept answer holds the password (rare: one more statement then).
                    item["value"], leaked = MASK, True
                # The last report of a key wins (an upsert cannot touch one row twice).
                value = None if item["key"] == SECRET_KEY else item.get("value")
                keys[(command.charge_point_id, item["key"])] = (value, item.get("readonly", False))
            if leaked:
                Command.objects.filter(pk=command.pk).update(response=response)
        elif (effect := _EFFECTS.get(command.action)) is not None:
            effect(command, response, now)
    if keys:
        bulk.copy_insert(
            model=ConfigurationKey,
            fields=("charge_point_id", "key", "value", "readonly", "updated_at"),
            rows=[(cp, key, value, readonly, now) for (cp, key), (value, readonly) in keys.items()],
            on_conflict="ON CONFLICT (charge_point_id, key) DO UPDATE"
            " SET value = EXCLUDED.value, readonly = EXCLUDED.readonly, updated_at = EXCLUDED.updated_at",
        )


#: The configuration key that holds the Basic auth password, and what stands for its value where it is kept.
SECRET_KEY = "AuthorizationKey"
MASK = "********"


def _accepted(command: Command) -> bool:
    return command.status == Command.Status.ACCEPTED


def _change_configuration(command: Command, response: dict[str, Any], now: datetime) -> None:
    # AuthorizationKey is a secret (write-only in the whitepaper): its value is never stored.
    if _accepted(command) and command.request["key"] != SECRET_KEY:
        ConfigurationKey.objects.update_or_create(
            charge_point=command.charge_point,
            key=command.request["key"],
            defaults={"value": command.request["value"], "updated_at": now},
        )


def _reserve_now(command: Command, response: dict[str, Any], now: datetime) -> None:
    status = Reservation.Status.ACCEPTED if _accepted(command) else Reservation.Status.REJECTED
    Reservation.objects.filter(
        charge_point=command.charge_point, reservation_id=command.request["reservationId"]
    ).update(status=status)


def _cancel_reservation(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        Reservation.objects.filter(
            charge_point=command.charge_point, reservation_id=command.request["reservationId"]
        ).update(status=Reservation.Status.CANCELLED)


def _set_charging_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    if not _accepted(command):
        return
    profile = command.request["csChargingProfiles"]
    connector_id = command.request["connectorId"]
    # A profile with the same id, or the same stack level and purpose, replaces the old one (1.6 §3.13.2).
    ChargingProfile.objects.filter(charge_point=command.charge_point, active=True).filter(
        profile_id=profile["chargingProfileId"]
    ).update(active=False, cleared_at=now)
    ChargingProfile.objects.filter(
        charge_point=command.charge_point,
        active=True,
        connector_id=connector_id,
        stack_level=profile["stackLevel"],
        purpose=profile["chargingProfilePurpose"],
    ).update(active=False, cleared_at=now)
    ChargingProfile.objects.create(
        charge_point=command.charge_point,
        connector_id=connector_id,
        profile_id=profile["chargingProfileId"],
        stack_level=profile["stackLevel"],
        purpose=profile["chargingProfilePurpose"],
        profile=profile,
    )


def _clear_charging_profile(command: Command, response: dict[str, Any], now: datetime) -> None:
    if not _accepted(command):
        return
    criteria = {
        "profile_id": command.request.get("id"),
        "connector_id": command.request.get("connectorId"),
        "purpose": command.request.get("chargingProfilePurpose"),
        "stack_level": command.request.get("stackLevel"),
    }
    ChargingProfile.objects.filter(
        charge_point=command.charge_point, active=True, **{k: v for k, v in criteria.items() if v is not None}
    ).update(active=False, cleared_at=now)


def _get_local_list_version(command: Command, response: dict[str, Any], now: datetime) -> None:
    ChargePoint.objects.filter(pk=command.charge_point_id).update(local_list_version=response.get("listVersion"))


def _send_local_list(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        ChargePoint.objects.filter(pk=command.charge_point_id).update(local_list_version=command.request["listVersion"])


def _reset(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        ChargePoint.objects.filter(pk=command.charge_point_id).update(reset_requested_at=now)


def _certificate_signed(command: Command, response: dict[str, Any], now: datetime) -> None:
    certificates.certificate_signed_answered(command=command, now=now)


def _get_installed_certificate_ids(command: Command, response: dict[str, Any], now: datetime) -> None:
    # NotFound: the charger has none of that type (1.6 asks for one type at a time).
    certificate_type = command.request["certificateType"]
    certificates.installed_certificates_report(
        charge_point=command.charge_point,
        certificate_types=[certificate_type],
        items=[
            certificates.InstalledItem(certificate_type, certificates.HashData.from_ocpp(data))
            for data in response.get("certificateHashData", [])
        ],
        now=now,
    )


def _install_certificate(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        certificates.installed_certificate_add(
            charge_point=command.charge_point,
            certificate_type=command.request["certificateType"],
            certificate_pem=command.request["certificate"],
            now=now,
        )


def _delete_certificate(command: Command, response: dict[str, Any], now: datetime) -> None:
    if _accepted(command):
        certificates.installed_certificate_remove(
            charge_point=command.charge_point,
            hash_data=certificates.HashData.from_ocpp(command.request["certificateHashData"]),
        )


# GetConfiguration's effect (its keys) is applied for many commands at once: commands_results_apply.
_EFFECTS = {
    "ChangeConfiguration": _change_configuration,
    "ReserveNow": _reserve_now,
    "CancelReservation": _cancel_reservation,
    "SetChargingProfile": _set_charging_profile,
    "ClearChargingProfile": _clear_charging_profile,
    "GetLocalListVersion": _get_local_list_version,
    "SendLocalList": _send_local_list,
    "Reset": _reset,
    "CertificateSigned": _certificate_signed,
    "GetInstalledCertificateIds": _get_installed_certificate_ids,
    "InstallCertificate": _install_certificate,
    "DeleteCertificate": _delete_certificate,
}
