"""Every write to the fleet: charge points, connectors, id tags, presence, events.

Services take Python values (parsed at the edge), never raw OCPP dicts, and do not know whether
they were called from MQTT, the API, the admin or a test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, Value
from django.utils import timezone

from backoffice import bulk
from backoffice.events import fleet_event

from . import commands, ports, tokens
from .models import (
    V16_STATUSES,
    AuthorizationStatus,
    ChargePoint,
    ChargerEvent,
    Command,
    Connector,
    ConnectorStatusChange,
    Evse,
    IdTag,
    IdTokenType,
    RegistrationStatus,
)

_POLICY_STATUS = {
    "accept": RegistrationStatus.ACCEPTED,
    "pending": RegistrationStatus.PENDING,
    "reject": RegistrationStatus.REJECTED,
}


def charge_point_lock(*, charge_point_id: str, dialect: str = "") -> ChargePoint:
    """Get (creating it under the boot policy if unknown) and lock the charge point row.

    Must run inside ``transaction.atomic()``. The row lock serializes every message of one charger
    across workers: two deliveries of the same StartTransaction cannot both miss the other's row,
    and a StatusNotification cannot interleave with the BootNotification before it. ``no_key``
    keeps the lock from blocking inserts that reference the charger (meter values, logs).
    """
    return charge_points_lock(dialects={charge_point_id: dialect})[charge_point_id]


def charge_points_lock(*, dialects: dict[str, str]) -> dict[str, ChargePoint]:
    """Lock the charge points of a batch (``{charge_point_id: dialect}``), creating unknown ones.

    The batch form of ``charge_point_lock`` (which is this with one charger): one statement locks
    them all, in primary key order, so two workers locking overlapping batches wait for each other
    instead of deadlocking.
    Returns ``{charge_point_id: ChargePoint}``. Must run inside ``transaction.atomic()``.
    """
    locked = ChargePoint.objects.select_for_update(no_key=True).order_by("pk")
    found = {cp.charge_point_id: cp for cp in locked.filter(charge_point_id__in=list(dialects))}
    missing = sorted(set(dialects) - set(found))
    if missing:
        # ON CONFLICT DO NOTHING absorbs the race of two workers creating the same new charger.
        ChargePoint.objects.bulk_create(
            [
                ChargePoint(
                    charge_point_id=charge_point_id,
                    registration_status=_POLICY_STATUS[settings.CSMS_BOOT_POLICY],
                    heartbeat_interval=settings.CSMS_HEARTBEAT_INTERVAL,
                    dialect=dialects[charge_point_id] or settings.CSMS_DEFAULT_DIALECT,
                )
                for charge_point_id in missing
            ],
            ignore_conflicts=True,
        )
        found.update({cp.charge_point_id: cp for cp in locked.filter(charge_point_id__in=missing)})
    return found


def charge_points_seen(*, charge_points: Iterable[tuple[ChargePoint, str, str, str]], now: datetime) -> None:
    """Record that messages came from these chargers just now, and the route they came by:
    ``(charge point, dialect, transport, OCPP version)``. Its replies and commands go back by the same
    route, in that version (a station's commands may go before its first BootNotification).

    One UPDATE per route (a fleet behind one gateway: one UPDATE per version in all).
    """
    by_route: dict[tuple[str, str, str], list[ChargePoint]] = {}
    for charge_point, dialect, transport, version in charge_points:
        by_route.setdefault((dialect, transport, version), []).append(charge_point)
    for (dialect, transport, version), group in by_route.items():
        ChargePoint.objects.filter(pk__in=[cp.pk for cp in group]).update(
            last_seen_at=now, online=True, dialect=dialect, transport=transport, ocpp_version=version
        )
        for charge_point in group:
            charge_point.last_seen_at, charge_point.online = now, True
            charge_point.dialect, charge_point.transport = dialect, transport
            charge_point.ocpp_version = version


@dataclasses.dataclass(frozen=True)
class BootIdentity:
    vendor: str
    model: str
    serial_number: str = ""
    charge_box_serial_number: str = ""
    firmware_version: str = ""
    iccid: str = ""
    imsi: str = ""
    meter_type: str = ""
    meter_serial_number: str = ""


@dataclasses.dataclass(frozen=True)
class BootReport:
    """One BootNotification, parsed: the (locked) charge point, the identity it reports, and the OCPP
    version it spoke it in (the charger's version from now on: its commands are checked and built in it)."""

    charge_point: ChargePoint
    identity: BootIdentity
    ocpp_version: str = "1.6"


_IDENTITY_FIELDS = tuple(field.name for field in dataclasses.fields(BootIdentity))


def boot_notifications_apply(
    *, reports: list[BootReport], configuration_read: Callable[[], ports.CommandRequest], now: datetime
) -> list[tuple[str, int]]:
    """What a wave of BootNotifications does, whatever the version: record them (``boot_notifications_record``,
    whose ``(status, interval)`` answers it returns), queue what waited for a boot, and, unless
    CSMS_FETCH_CONFIGURATION_ON_BOOT is off, read the configuration of every charger accepted (1.6
    GetConfiguration, 2.0.1 GetBaseReport: the version's ``configuration_read`` shortcut)."""
    registrations = boot_notifications_record(reports=reports, now=now)
    booted = [report.charge_point for report in reports]
    commands.boots_followups(charge_points=booted, now=now)
    if settings.CSMS_FETCH_CONFIGURATION_ON_BOOT:
        commands.commands_queue_once(
            charge_points=[cp for cp in booted if cp.registration_status == RegistrationStatus.ACCEPTED],
            request=configuration_read(),
            requested_by="system: boot",
            now=now,
        )
    return registrations


def boot_notifications_record(*, reports: list[BootReport], now: datetime) -> list[tuple[str, int]]:
    """Store the identity chargers report at boot; return (registration status, interval) for each.

    Accepted chargers get the heartbeat interval; pending and rejected ones the retry interval
    after which they boot again (an operator may have accepted them by then). One UPDATE for
    them all (one report per charger). The charge points must be locked (``charge_points_lock``):
    their registration status is read from the objects, which are left as the rows now are.
    """
    rows: list[tuple[Any, ...]] = []
    answers: list[tuple[str, int]] = []
    for report in reports:
        charge_point = report.charge_point
        accepted = charge_point.registration_status == RegistrationStatus.ACCEPTED
        interval = settings.CSMS_HEARTBEAT_INTERVAL if accepted else settings.CSMS_BOOT_RETRY_INTERVAL
        for field in _IDENTITY_FIELDS:
            setattr(charge_point, field, getattr(report.identity, field))
        charge_point.heartbeat_interval = interval
        charge_point.ocpp_version = report.ocpp_version
        charge_point.first_boot_at = charge_point.first_boot_at or now
        charge_point.last_boot_at = charge_point.updated_at = now
        identity = (getattr(report.identity, field) for field in _IDENTITY_FIELDS)
        rows.append((charge_point.pk, *identity, report.ocpp_version, interval))
        answers.append((charge_point.registration_status, interval))
    if rows:
        with connection.cursor() as cursor:
            # One array per column (unnest): the statement's size and parameter count do not grow
            # with the batch, unlike VALUES lists or bulk_update's CASE WHEN per row and column.
            cursor.execute(_BOOT_UPDATE, [now, now, now, *(list(column) for column in zip(*rows, strict=True))])
    return answers


def _boot_update_sql() -> str:
    meta, quote = ChargePoint._meta, connection.ops.quote_name
    [pk] = bulk.columns_of(ChargePoint, [meta.pk.attname])
    written = bulk.columns_of(ChargePoint, [*_IDENTITY_FIELDS, "ocpp_version", "heartbeat_interval"])
    first, last, updated = bulk.columns_of(ChargePoint, ["first_boot_at", "last_boot_at", "updated_at"])
    arrays = ["%s::bigint[]", *["%s::text[]"] * (len(_IDENTITY_FIELDS) + 1), "%s::integer[]"]
    return (
        f"UPDATE {quote(meta.db_table)} AS cp SET {', '.join(f'{column} = v.{column}' for column in written)}, "
        # updated_at is auto_now: save() set it, an UPDATE has to.
        f"{first} = COALESCE(cp.{first}, %s), {last} = %s, {updated} = %s "
        f"FROM unnest({', '.join(arrays)}) AS v({', '.join([pk, *written])}) WHERE cp.{pk} = v.{pk}"
    )


_BOOT_UPDATE = _boot_update_sql()


def charge_point_registration_set(*, charge_point: ChargePoint, status: str) -> ChargePoint:
    """An operator's decision on a charger: it takes effect at the charger's next BootNotification.

    Accepting a Pending charger that is online also queues a TriggerMessage BootNotification, so it
    boots again now instead of at its next retry (up to CSMS_BOOT_RETRY_INTERVAL later). Not for a
    Rejected one: OCPP 1.6 lets a rejected charger ignore our Calls, and an unanswered one would hold
    its command queue until CSMS_COMMAND_TIMEOUT.
    """
    if status not in RegistrationStatus.values:
        raise ValueError(f"unknown registration status {status!r}")
    with transaction.atomic():
        previous = charge_point.registration_status
        charge_point.registration_status = status
        charge_point.save(update_fields=["registration_status", "updated_at"])
        fleet_event("registration", charge_point.charge_point_id, registration_status=status)
        if previous == RegistrationStatus.PENDING and status == RegistrationStatus.ACCEPTED and charge_point.online:
            _boot_trigger_enqueue(charge_point=charge_point)
    return charge_point


def _boot_trigger_enqueue(*, charge_point: ChargePoint) -> None:
    """Queue the version's "boot now" (1.6: TriggerMessage BootNotification) unless one is already
    waiting (accepted twice)."""
    if ports.commands_refused(charge_points=[charge_point]):
        return  # it takes no commands (an MQTT charger whose firmware cannot): it boots again at its own retry
    try:
        boot_now = ports.port_of(charge_point).shortcuts.boot_now()
    except LookupError:  # a version no package speaks: it boots again at its own retry
        return
    waiting = Command.objects.filter(
        charge_point=charge_point, action=boot_now.action, request=boot_now.payload, status=Command.Status.QUEUED
    )
    if not waiting.exists():
        # Expires with the charger's own retry: by then it has booted again by itself.
        commands.command_enqueue(
            charge_point=charge_point,
            action=boot_now.action,
            payload=boot_now.payload,
            requested_by="system: accepted",
            expires_in=settings.CSMS_BOOT_RETRY_INTERVAL,
        )


@dataclasses.dataclass(frozen=True)
class DemoFleetProvisioned:
    """What ``demo_fleet_provision`` changed: ids of the charge points and tags it created or accepted."""

    charge_points_created: list[str]
    charge_points_accepted: list[str]
    id_tags_created: list[str]


def demo_fleet_provision(*, charge_point_ids: list[str], id_tags: list[str]) -> DemoFleetProvisioned:
    """Make a simulated fleet usable under any boot policy: its chargers registered and Accepted, the
    id tags its drivers present created, all marked ``demo``. Idempotent (``make run`` calls it on
    every start).

    Unknown chargers are created Accepted. A known one that is still Pending (booted before it was
    provisioned: nobody decided on it) is accepted through ``charge_point_registration_set``, so it is
    told at once; one an operator Accepted or Rejected keeps that decision. All of them are marked
    ``demo``. An existing id tag is left as it is (an operator's card, or a demo tag they blocked).
    Chargers not named here are untouched: they still follow CSMS_BOOT_POLICY.
    """
    with transaction.atomic():
        existing = {
            cp.charge_point_id: cp
            for cp in ChargePoint.objects.select_for_update().filter(charge_point_id__in=charge_point_ids)
        }
        created = [cid for cid in dict.fromkeys(charge_point_ids) if cid not in existing]
        ChargePoint.objects.bulk_create(
            [
                ChargePoint(
                    charge_point_id=cid,
                    registration_status=RegistrationStatus.ACCEPTED,
                    heartbeat_interval=settings.CSMS_HEARTBEAT_INTERVAL,
                    dialect=settings.CSMS_DEFAULT_DIALECT,
                    demo=True,
                )
                for cid in created
            ],
            ignore_conflicts=True,  # a charger of the fleet booting meanwhile created its row: it is Pending
        )
        ChargePoint.objects.filter(charge_point_id__in=charge_point_ids, demo=False).update(demo=True)
        accepted = []
        for cp in ChargePoint.objects.select_for_update().filter(
            charge_point_id__in=charge_point_ids, registration_status=RegistrationStatus.PENDING
        ):
            charge_point_registration_set(charge_point=cp, status=RegistrationStatus.ACCEPTED)
            accepted.append(cp.charge_point_id)
        # Case-insensitive, as tokens match (uniq_id_tag_upper): "abc" is there when "ABC" is.
        seen = {tokens.token_key(tag.id_tag) for tag in tokens.tags_matching(set(id_tags))} if id_tags else set()
        new_tags = []
        for tag in id_tags:
            if tokens.token_key(tag) not in seen:
                seen.add(tokens.token_key(tag))
                new_tags.append(tag)
        IdTag.objects.bulk_create(
            [IdTag(id_tag=tag, note="demo fleet (gateway/simulator.py)", demo=True) for tag in new_tags],
            ignore_conflicts=True,
        )
    return DemoFleetProvisioned(
        charge_points_created=created, charge_points_accepted=sorted(accepted), id_tags_created=new_tags
    )


def heartbeats_record(*, charge_points: list[ChargePoint], now: datetime) -> None:
    """Heartbeats: keep when they came, in one UPDATE (last_seen_at is kept for every message)."""
    ChargePoint.objects.filter(pk__in=[cp.pk for cp in charge_points]).update(last_heartbeat_at=now)


@dataclasses.dataclass(frozen=True)
class StatusReport:
    """One StatusNotification, parsed."""

    charge_point: ChargePoint
    connector_id: int
    status: str
    error_code: str
    info: str = ""
    vendor_id: str = ""
    vendor_error_code: str = ""
    charger_timestamp: datetime | None = None
    #: 2.0.1's evseId; None for 1.6, whose connector is an EVSE of its own (``Evse``).
    evse_id: int | None = None

    @property
    def evse(self) -> int:
        return self.connector_id if self.evse_id is None else self.evse_id


_STATUS_FIELDS = ("status", "error_code", "info", "vendor_id", "vendor_error_code", "charger_timestamp")


def status_notifications_record(*, reports: list[StatusReport], now: datetime) -> list[Connector]:
    """Update connectors' current status and append to their history: two statements for the lot.

    At most one report per connector (a batch holds one message per charger at a time): one
    INSERT ... ON CONFLICT DO UPDATE cannot touch the same row twice. The EVSEs of the connectors
    are made in a third (a no-op once they exist).
    """
    evses_ensure(pairs={(report.charge_point.pk, report.evse) for report in reports})
    connectors = Connector.objects.bulk_create(
        [
            Connector(
                charge_point=report.charge_point,
                evse_id=report.evse,
                connector_id=report.connector_id,
                status_updated_at=now,
                **{field: getattr(report, field) for field in _STATUS_FIELDS},
            )
            for report in reports
        ],
        update_conflicts=True,
        unique_fields=["charge_point", "evse_id", "connector_id"],
        update_fields=[*_STATUS_FIELDS, "status_updated_at"],
    )
    ConnectorStatusChange.objects.bulk_create(
        [
            ConnectorStatusChange(
                connector=connector, received_at=now, **{field: getattr(report, field) for field in _STATUS_FIELDS}
            )
            for connector, report in zip(connectors, reports, strict=True)
        ]
    )
    return connectors


def evses_ensure(*, pairs: Iterable[tuple[int, int]]) -> None:
    """Make the EVSEs ``(charge point pk, evse id)`` that do not exist yet, in one statement."""
    rows = sorted(set(pairs))
    if not rows:
        return
    values, params = bulk.values_list(rows, ["bigint", "bigint"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Evse._meta.db_table} (charge_point_id, evse_id, availability, created_at)"
            f" SELECT charge_point_id, evse_id, %s, %s FROM ({values}) AS new (charge_point_id, evse_id)"
            " ON CONFLICT (charge_point_id, evse_id) DO NOTHING",
            [Evse.Availability.OPERATIVE, timezone.now(), *params],
        )


@dataclasses.dataclass(frozen=True)
class IdTagInfo:
    """OCPP IdTagInfo: what we answer about an id tag."""

    status: str
    expiry_date: datetime | None = None
    parent_id_tag: str = ""

    def to_ocpp(self) -> dict[str, Any]:
        """1.6's IdTagInfo (a status only 2.0.1 knows, such as NoCredit, is Blocked there)."""
        info: dict[str, Any] = {"status": self.status if self.status in V16_STATUSES else AuthorizationStatus.BLOCKED}
        if self.expiry_date:
            info["expiryDate"] = self.expiry_date.isoformat().replace("+00:00", "Z")
        if self.parent_id_tag:
            info["parentIdTag"] = self.parent_id_tag
        return info


def id_tag_authorize(*, id_tag: str, charge_point: ChargePoint | None = None, now: datetime) -> IdTagInfo:
    """Decide whether ``id_tag`` may charge (at ``charge_point`` when given).

    Unknown tags follow CSMS_UNKNOWN_ID_TAG_POLICY. A charger that is not Accepted may not start
    charging: its requests are still recorded, but every tag is Invalid there.
    """
    return id_tags_authorize(requests=[(id_tag, charge_point)], now=now)[0]


def id_tags_authorize(*, requests: list[tuple[str, ChargePoint | None]], now: datetime) -> list[IdTagInfo]:
    """``id_tag_authorize`` for many ``(id tag, charge point)`` requests: one query for all the tags.

    1.6's spelling of ``tokens.id_tokens_authorize`` (a tag by its value, whatever its 2.0.1 type).
    """
    infos = tokens.id_tokens_authorize(
        requests=[tokens.TokenRequest(id_tag, None, charge_point) for id_tag, charge_point in requests], now=now
    )
    return [IdTagInfo(info.status, info.expiry_date, info.group_id_token) for info in infos]


def charger_event_record(
    *,
    charge_point: ChargePoint,
    kind: str,
    status: str = "",
    detail: dict[str, Any] | None = None,
    charger_timestamp: datetime | None = None,
    now: datetime,
) -> ChargerEvent:
    """Keep a notification that changes no other state (firmware, diagnostics, security, ...)."""
    return ChargerEvent.objects.create(
        charge_point=charge_point,
        kind=kind,
        status=status[:64],
        detail=detail or {},
        charger_timestamp=charger_timestamp,
        received_at=now,
    )


def presence_record(
    *, charge_point_id: str, connected: bool, at: datetime, reason: str = "", now: datetime, transport: str = ""
) -> ChargePoint:
    """A gateway says a charger's connection opened or closed.

    Events can arrive out of order (a reconnect's `connected` before the old socket's
    `disconnected`): an event older than the latest one recorded does not flip ``online``.

    Presence is per transport: a disconnect announced on ``transport`` (EMQX's ``$SYS``, the RabbitMQ
    plugin's offline notice) is about the charger's socket on that transport only. A charger that has
    spoken on another one since (moved from EMQX to RabbitMQ, its old socket timing out later) is left
    as it is: its ``transport`` is the route it last spoke on, the one whose gateway can say it left.
    ``transport`` empty (an event of an older bridge) applies whatever the transport.
    """
    with transaction.atomic():
        charge_point = charge_point_lock(charge_point_id=charge_point_id)
        if not connected and transport and charge_point.transport != transport:
            return charge_point
        latest = max(filter(None, [charge_point.last_connected_at, charge_point.last_disconnected_at]), default=None)
        if connected:
            charge_point.last_connected_at = at
        else:
            charge_point.last_disconnected_at = at
            charge_point.last_disconnect_reason = reason[:100]
        if latest is None or at >= latest:
            charge_point.online = connected
            if connected:
                charge_point.last_seen_at = max(filter(None, [charge_point.last_seen_at, at]))
        charge_point.save()
    return charge_point


def presence_watchdog_run(*, now: datetime | None = None) -> int:
    """Mark offline the chargers silent for longer than their interval allows.

    A gateway's keepalive timeout may announce nothing (and `$SYS` is often hidden), so this is
    the one presence signal that always works. Returns how many chargers went offline.
    """
    now = now or timezone.now()
    factor, grace = settings.CSMS_OFFLINE_FACTOR, settings.CSMS_OFFLINE_GRACE
    # last_seen_at + interval * factor + grace < now, computed in SQL for the whole fleet at once.
    allowance = ExpressionWrapper(
        F("heartbeat_interval") * Value(timedelta(seconds=factor)), output_field=DurationField()
    )
    deadline = ExpressionWrapper(
        F("last_seen_at") + allowance + Value(timedelta(seconds=grace)), output_field=DateTimeField()
    )
    stale = ChargePoint.objects.filter(online=True).alias(deadline=deadline)
    return stale.filter(Q(last_seen_at__isnull=True) | Q(deadline__lt=now)).update(online=False)


@dataclasses.dataclass(frozen=True)
class CommandResult:
    """A sent command's answer: the charger's CallResult (``payload``) or CallError (``error_code``)."""

    command: Command
    payload: dict[str, Any] | None
    error_code: str = ""
    error_description: str = ""


def commands_results_record(*, results: list[CommandResult], now: datetime) -> None:
    """Close sent commands with their answers, in one UPDATE.

    A result's ``status`` other than Accepted (Rejected, NotSupported, Unlocked is fine, ...)
    makes the command ``rejected``; results without a status (GetConfiguration) are ``accepted``;
    a CallError makes it ``failed``. The Command objects are updated too.
    """
    if not results:
        return
    for result in results:
        command = result.command
        if result.error_code:
            command.status = Command.Status.FAILED
            command.error_code = result.error_code[:40]
            command.error_description = result.error_description
        else:
            status = (result.payload or {}).get("status")
            accepted = status is None or status in _ACCEPTED_RESULT_STATUSES
            command.status = Command.Status.ACCEPTED if accepted else Command.Status.REJECTED
            command.response = result.payload
        command.completed_at = now
    bulk.update_objects(
        [result.command for result in results],
        ["status", "error_code", "error_description", "response", "completed_at"],
    )


# Result statuses that mean the charger did what was asked (UnlockConnector answers Unlocked,
# ChangeConfiguration may answer RebootRequired: the value is taken, it applies after a reboot).
_ACCEPTED_RESULT_STATUSES = frozenset({"Accepted", "Unlocked", "RebootRequired"})


# --- id tags (the authorization list the API and the admin manage) ------------------------------


class IdTagError(ValueError):
    """An id tag change that cannot be made; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_parent(*, id_tag: str, parent: IdTag | None) -> None:
    """A parent chain must end: a tag cannot be its own ancestor (authorization walks the chain)."""
    seen = {id_tag}
    while parent is not None:
        if parent.id_tag in seen:
            raise IdTagError("parent", "a tag cannot be its own parent, directly or through other tags")
        seen.add(parent.id_tag)
        parent = parent.parent


def id_tag_case_clash(*, id_tag: str) -> str | None:
    """The stored token that is ``id_tag`` whatever its case (None: there is none). Tokens match
    case-insensitively (1.6 CiString20Type, 2.0.1 idToken), so two that differ only by case cannot both be."""
    found = tokens.tags_matching({id_tag})
    return found[0].id_tag if found else None


def _clash_message(existing: str) -> str:
    return f"an id token {existing!r} exists already: id tokens match whatever their case (OCPP), so it is the same"


def id_tag_create(
    *,
    id_tag: str,
    status: str = AuthorizationStatus.ACCEPTED,
    expiry_date: datetime | None = None,
    parent: IdTag | None = None,
    note: str = "",
    type: str = IdTokenType.ISO14443,
) -> IdTag:
    """Create an id token (an RFID card, an app's or a contract's id) drivers authorize with.

    ``type`` is its 2.0.1 IdTokenEnumType: a 2.0.1 station asking for the same value with another type
    is told it is unknown; 1.6 has no types and finds it by value.
    """
    _check_parent(id_tag=id_tag, parent=parent)
    existing = id_tag_case_clash(id_tag=id_tag)
    if existing is not None:
        raise IdTagError("id_tag", _clash_message(existing))
    try:
        with transaction.atomic():
            return IdTag.objects.create(
                id_tag=id_tag, type=type, status=status, expiry_date=expiry_date, parent=parent, note=note
            )
    except IntegrityError:
        # Created meanwhile by another request (the check above raced with it): uniq_id_tag_upper refused it.
        existing = id_tag_case_clash(id_tag=id_tag)
        if existing is None:
            raise
        raise IdTagError("id_tag", _clash_message(existing)) from None


_UPDATABLE = frozenset({"status", "expiry_date", "parent", "note", "type"})


def id_tag_update(*, tag: IdTag, **changes: object) -> IdTag:
    """Change an id tag's status, expiry date, parent, note or type (its id_tag string is its identity)."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise IdTagError(sorted(unknown)[0], "cannot be changed")
    with transaction.atomic():
        if "parent" in changes:
            parent = changes["parent"]
            assert parent is None or isinstance(parent, IdTag)
            _check_parent(id_tag=tag.id_tag, parent=parent)
        for field, value in changes.items():
            setattr(tag, field, value)
        tag.save(update_fields=[*changes, "updated_at"])
    return tag


def id_tag_delete(*, tag: IdTag) -> None:
    """Delete an id tag; its children lose their parent. Past sessions keep the tag string."""
    tag.delete()


def id_tag_block(*, tag: IdTag) -> IdTag:
    """Block an id tag: Authorize and StartTransaction answer Blocked from now on.

    A session it already started goes on: OCPP 1.6 has no message that tells a charger about a tag
    mid-session (stop that session with RemoteStopTransaction).
    """
    return id_tag_update(tag=tag, status=AuthorizationStatus.BLOCKED)


def id_tag_unblock(*, tag: IdTag) -> IdTag:
    """Accept a blocked id tag again (an expiry date in the past still makes it Expired)."""
    return id_tag_update(tag=tag, status=AuthorizationStatus.ACCEPTED)


def id_tag_expire(*, tag: IdTag, at: datetime) -> IdTag:
    """Let an id tag expire at ``at`` (now: at once); after it, an Accepted tag is answered Expired.

    The expiry date, not the status, so that the charger's local authorization cache learns it
    too (IdTagInfo.expiryDate) and the tag's own status (Blocked, ...) is not lost.
    """
    return id_tag_update(tag=tag, expiry_date=at)
