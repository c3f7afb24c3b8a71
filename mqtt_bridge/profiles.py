"""MQTT charger profiles: chargers that speak OCPP-J over MQTT themselves, their firmware's quirks as data.

A profile (``models.MqttChargerProfile``) is a route. What each of its fields does:

- **uplink template** (``/charger/{cid}``): the bridge subscribes to it, and a charger belongs to the
  profile by publishing there; its charge point id is read from the topic. It must overlap no other
  route (the settings' topics, other profiles), so that a topic has one meaning.
- **name**: the dialect of the frames that came by the route, so of its chargers
  (``ChargePoint.dialect``). Replies and commands find their profile again by it, so it never changes.
- **downlink template** (``/system/{cid}``) and **reply encoding**: where and how our replies and
  commands go (``mqtt.Publisher``): ``ocppj``, or ``ocppj-action-id`` for firmware that expects
  ``[3, "BootNotification", {...}]`` (``dialects.encode``). Payloads are compact JSON either way.
- **accepts calls**: when False, a command to one of its chargers is refused when it is queued, with a
  ``CommandError`` naming the profile (``charge_points_refused``, registered with the domain's
  ``chargers.ports``): the API answers 400; the CSMS's own commands (the configuration read after a
  boot) are not queued for it.
- **ids restart at boot**: such firmware sends its BootNotification with id "1" every time it starts;
  a first delivery of one (QoS 0, or QoS 1 without DUP) is a new boot (``Frame.new_boot``), not the
  redelivery of the previous boot's, and the ids of the boot before are forgotten
  (``processing._wave_handle``).
- **retained uplinks** need no field: a delivery with the MQTT retain flag on a profile's route is the
  broker handing a stored message to a new subscription (every bridge start or reconnect), never a
  charger's new message: it is dropped, kept in the message log (``retained``) and acknowledged,
  however old it is (``transports.mqtt``). A charger whose message was lost with a lost session sends it
  again when no answer comes.

The bridge reads the profiles when it starts, and again every CSMS_MQTT_PROFILES_RELOAD seconds if set
(subscribing to new uplinks, unsubscribing from removed ones); workers and the API read them from the
database whenever a frame or command concerns a profile's charger, so they need no restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from chargers.models import ChargePoint

from . import dialects
from .models import MqttChargerProfile
from .mqtt import Downlink
from .routes import MQTT
from .topics import ProfileSpec, Topics, templates_overlap

logger = logging.getLogger(__name__)

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,15}\Z")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ProfileError(Exception):
    """A profile that cannot be saved as it is: ``errors`` per field, for forms and the API."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


# --- validation -------------------------------------------------------------------------------------


def _template_problems(template: str, *, uplink: bool) -> list[str]:
    problems = []
    if _CONTROL.search(template):
        problems.append("must not contain control characters")
    placeholders = _PLACEHOLDER.findall(template)
    if template.count("{cid}") != 1:
        problems.append("must contain {cid} exactly once")
    if any(found != "{cid}" for found in placeholders) or template.count("{") != len(placeholders):
        problems.append("knows no placeholder but {cid}")
    if template.startswith("$"):
        problems.append("topics starting with $ are the broker's")
    if "#" in template:
        problems.append("must not contain the # wildcard")
    levels = template.split("/")
    if uplink:
        if any("+" in level and level != "+" for level in levels):
            problems.append("takes + only as a whole level")
        if "{cid}" in template and "{cid}" not in levels:
            problems.append("must have {cid} as a whole level (/charger/{cid}), the level the id is read from")
    elif "+" in template:
        problems.append("must not contain the + wildcard: it is a topic we publish on")
    return problems


def profile_problems(
    *,
    name: str,
    uplink_template: str,
    downlink_template: str,
    instance: MqttChargerProfile | None = None,
    base: Topics | None = None,
) -> dict[str, list[str]]:
    """Why a profile with these values cannot be saved, per field (empty: it can).

    ``instance`` is the profile being changed, as it is stored; ``base`` the routes of the settings
    (default: this process's). Besides each template's form, the uplink must overlap none of the settings' routes
    and no other profile's uplink, and the downlink none of our uplinks (we would read our own
    messages). The name must not change.
    """
    errors: dict[str, list[str]] = {}
    others = MqttChargerProfile.objects.all()
    if instance is not None and instance.pk is not None:
        others = others.exclude(pk=instance.pk)

    def problem(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if instance is not None and instance.pk is not None and name != instance.name:
        problem("name", f"cannot change: its chargers are known by it (this profile is {instance.name!r})")
    elif not NAME.match(name):
        problem("name", "must be 1 to 16 lower-case letters, digits, - or _, starting with a letter or digit")
    elif name in dialects.ENCODINGS:
        problem("name", f"{name!r} is the name of a built-in dialect")
    elif others.filter(name=name).exists():
        problem("name", f"a profile named {name!r} exists")
    for message in _template_problems(uplink_template, uplink=True):
        problem("uplink_template", message)
    for message in _template_problems(downlink_template, uplink=False):
        problem("downlink_template", message)
    if errors.get("uplink_template") or errors.get("downlink_template"):
        return errors

    configured = [template.template for template in (base or Topics.from_settings()).templates]
    uplinks = list(others.values_list("name", "uplink_template"))
    for template in configured:
        if templates_overlap(uplink_template, template):
            problem("uplink_template", f"overlaps the configured topic {template!r}: a topic must have one route")
    for other, template in uplinks:
        if templates_overlap(uplink_template, template):
            problem("uplink_template", f"overlaps the uplink {template!r} of profile {other!r}")
    for template in [uplink_template, *configured, *(template for _, template in uplinks)]:
        if templates_overlap(downlink_template, template):
            problem("downlink_template", f"overlaps the uplink {template!r}: the bridge would read our own messages")
            break
    return errors


# --- writes -----------------------------------------------------------------------------------------

PROFILE_FIELDS = (
    "name",
    "uplink_template",
    "downlink_template",
    "ocpp_version",
    "reply_encoding",
    "accepts_calls",
    "ids_restart_at_boot",
    "notes",
)


def _profiles_lock() -> None:
    """Serialize profile writes: two profiles saved at once could each pass the other's overlap check."""
    table = connection.ops.quote_name(MqttChargerProfile._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def mqtt_profile_create(**fields: Any) -> MqttChargerProfile:
    """Create a profile (``PROFILE_FIELDS``); ProfileError with the reasons per field if it cannot be.

    The bridge serves it after its restart, or within CSMS_MQTT_PROFILES_RELOAD seconds when set.
    """
    profile = MqttChargerProfile(**fields)
    with transaction.atomic():
        _profiles_lock()
        _check(profile, instance=None)
        profile.save()
    return profile


def mqtt_profile_update(*, profile: MqttChargerProfile, **fields: Any) -> MqttChargerProfile:
    """Change a profile's fields (not its name); ProfileError with the reasons per field if it cannot be.

    Replies and commands follow the change at once; the bridge's subscriptions as for a new profile.
    """
    with transaction.atomic():
        _profiles_lock()
        stored = MqttChargerProfile.objects.get(pk=profile.pk)
        changed = MqttChargerProfile.objects.get(pk=profile.pk)
        for field, value in fields.items():
            if field not in PROFILE_FIELDS:
                raise TypeError(f"mqtt_profile_update() got an unexpected field {field!r}")
            setattr(changed, field, value)
        _check(changed, instance=stored)
        changed.save()
    return changed


def mqtt_profile_delete(*, profile: MqttChargerProfile) -> None:
    """Delete a profile: its chargers are no longer heard (once the bridge reads the profiles again),
    and commands to them are refused."""
    with transaction.atomic():
        _profiles_lock()
        MqttChargerProfile.objects.filter(pk=profile.pk).delete()


def _check(profile: MqttChargerProfile, *, instance: MqttChargerProfile | None) -> None:
    errors = profile_problems(
        name=profile.name,
        uplink_template=profile.uplink_template,
        downlink_template=profile.downlink_template,
        instance=instance,
    )
    if profile.ocpp_version not in MqttChargerProfile.OcppVersion.values:
        errors.setdefault("ocpp_version", []).append(f"{profile.ocpp_version!r} is not a version we speak")
    if profile.reply_encoding not in MqttChargerProfile.ReplyEncoding.values:
        errors.setdefault("reply_encoding", []).append(f"{profile.reply_encoding!r} is not a reply encoding")
    if errors:
        raise ProfileError(errors)


# --- what the bridge, the publisher and the domain read -------------------------------------------


def profile_spec(profile: MqttChargerProfile) -> ProfileSpec:
    """The route spec of ``profile``: MQTT, its OCPP version, its name as the only dialect."""
    return ProfileSpec(
        transport=MQTT,
        dialects=(profile.name,),
        ocpp_version=profile.ocpp_version,
        ids_restart_at_boot=profile.ids_restart_at_boot,
    )


def profile_routes(*, base: Topics) -> list[tuple[str, ProfileSpec]]:
    """``(uplink template, spec)`` of every profile that can be a route beside ``base``'s.

    The API and the admin refuse bad profiles; one that is bad all the same (written in the database
    by hand, or made bad by a change of the settings' topics) is left out with an error in the log,
    never allowed to stop the bridge or take another route's messages. The oldest profile wins.
    """
    kept: list[tuple[str, ProfileSpec]] = []
    taken = [template.template for template in base.templates]
    for profile in MqttChargerProfile.objects.order_by("pk"):
        problems = _template_problems(profile.uplink_template, uplink=True)
        problems += [f"overlaps {other!r}" for other in taken if templates_overlap(profile.uplink_template, other)]
        if profile.name in dialects.ENCODINGS or not NAME.match(profile.name):
            problems.append("its name is not a profile name")
        if problems:
            logger.error("MQTT charger profile %r is not served: its uplink %s", profile.name, "; ".join(problems))
            continue
        kept.append((profile.uplink_template, profile_spec(profile)))
        taken.append(profile.uplink_template)
    return kept


def profiles_signature() -> list[tuple[int, datetime]]:
    """What changes whenever a profile is added, changed or removed (the bridge's reload compares it)."""
    return list(MqttChargerProfile.objects.order_by("pk").values_list("pk", "updated_at"))


def profile_downlinks(names: Collection[str]) -> dict[str, Downlink]:
    """The downlinks of the profiles named (by name); the publisher's lookup, one query."""
    return {
        profile.name: Downlink(
            template=profile.downlink_template, encoding=profile.reply_encoding, accepts_calls=profile.accepts_calls
        )
        for profile in MqttChargerProfile.objects.filter(name__in=list(names))
    }


def charge_points_refused(charge_points: Sequence[ChargePoint]) -> dict[int, str]:
    """Why the chargers of profiles that take no Calls cannot be sent commands, by primary key.

    Registered with ``chargers.ports`` (the domain imports no transport). A charger of the built-in
    dialects (or of another transport) costs nothing; the others cost one query together. A charger
    whose profile was deleted is refused too: nothing would know where to send its commands.
    """
    profiled = [cp for cp in charge_points if cp.transport == MQTT and cp.dialect not in dialects.DIALECTS]
    if not profiled:
        return {}
    downlinks = profile_downlinks({cp.dialect for cp in profiled})
    refused: dict[int, str] = {}
    for charge_point in profiled:
        downlink = downlinks.get(charge_point.dialect)
        if downlink is None:
            refused[charge_point.pk] = (
                f"{charge_point.charge_point_id} spoke through the MQTT charger profile {charge_point.dialect!r}, "
                "which no longer exists: there is no topic to send it commands on"
            )
        elif not downlink.accepts_calls:
            refused[charge_point.pk] = (
                f"{charge_point.charge_point_id} is a charger of the MQTT charger profile {charge_point.dialect!r}, "
                "whose firmware takes no Calls from the CSMS: it cannot be sent commands"
            )
    return refused
