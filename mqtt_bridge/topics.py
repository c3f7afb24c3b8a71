"""MQTT routes: topic templates, the subscriptions they make, and what a matching message is.

Templates use ``{cid}`` and ``{action}`` placeholders and may contain MQTT wildcards (``+``) for
parts we do not care about (the broker node name in ``$SYS`` presence topics). The charge point
id is taken by matching the whole template, never by a fixed position, so a deployment that
changes the gateway's topics only changes these settings.

A route is explicit: every template names its transport, the dialects it accepts and its OCPP
version (a ``RouteSpec``); a frame's version is its route's, never read from the payload.

- The **default route** is the EMQX gateway's: ``CSMS_TOPIC_CALL`` (``ocpp/cp/{cid}``),
  ``CSMS_TOPIC_REPLY`` (``ocpp/cp/{cid}/Reply``) and ``CSMS_TOPIC_CALL_OVERRIDES``, transport ``mqtt``,
  OCPP 1.6, dialects ``emqx`` and ``ocppj`` (WIRE.md: raw OCPP-J chargers use the same topics). A
  payload is told apart structurally: a JSON object is the EMQX envelope, an array OCPP-J. The route's
  first dialect, ``CSMS_DEFAULT_DIALECT`` (``emqx``), is the one of a reply to a payload whose
  structure could not be read.
- The **2.0.1 route** is our gateway's for its ``ocpp2.0.1`` sockets (EMQX's gateway speaks only 1.6):
  ``CSMS_TOPIC_CALL_V201`` (``ocpp/v201/cp/{cid}``) and ``CSMS_TOPIC_REPLY_V201``
  (``ocpp/v201/cp/{cid}/Reply``), transport ``mqtt``, OCPP 2.0.1, dialects ``emqx`` then ``ocppj``
  (our gateway publishes the envelope). Either template set to "" turns it off. A stock EMQX never
  publishes there: its deployment needs no setting changed.
- The **2.1 route** is our gateway's ``ocpp2.1`` sockets', the same way: ``CSMS_TOPIC_CALL_V21``
  (``ocpp/v21/cp/{cid}``: Calls and SENDs) and ``CSMS_TOPIC_REPLY_V21`` (``ocpp/v21/cp/{cid}/Reply``:
  CallResults, CallErrors and CALLRESULTERRORs), OCPP 2.1; "" for either one turns it off.
- **Further routes** come from ``CSMS_MQTT_ROUTES``: a comma-separated list of
  ``<dialect>[+<dialect>...]@<version>:<template>``, e.g. ``ocppj@1.6:charger/{cid}`` (a route of raw
  OCPP-J chargers that accepts nothing else) or ``ocppj@2.0.1:charger201/{cid}`` (chargers that speak
  2.0.1 over MQTT themselves). Each is a Call topic that takes results and errors too (the
  MessageTypeId tells them apart).
- **Profile routes** are those of MQTT charger profiles (``profiles.py``: chargers that speak OCPP-J
  over MQTT themselves, with their quirks as data): each profile's uplink template is a Call topic with
  a ``ProfileSpec``, whose only dialect is the profile's name. The bridge adds them (``profiles=``).
- Everything goes out on ``CSMS_TOPIC_DOWNSTREAM`` (``ocpp/cs/{cid}``), encoded in the frame's dialect;
  a profile's chargers on its downlink template, in its reply encoding (``mqtt.Publisher``).
"""

from __future__ import annotations

import dataclasses
import re

from django.conf import settings

from .routes import DEFAULT_SPEC, MQTT, Route, RouteMatch, RouteSpec

__all__ = [
    "CID_PATTERN",
    "DEFAULT_SPEC",
    "V21_SPEC",
    "V201_SPEC",
    "ProfileMatch",
    "ProfileSpec",
    "Route",
    "RouteSpec",
    "TopicMatch",
    "TopicTemplate",
    "Topics",
    "templates_overlap",
]

CID_PATTERN = r"[^/+#]{1,48}"
# Our gateway's 2.0.1 sockets: it publishes the EMQX envelope for every version, so a reply to a
# payload whose structure could not be read is written as one (CSMS_DEFAULT_DIALECT is the 1.6
# route's, whose gateway may be any).
V201_SPEC = RouteSpec(transport=MQTT, dialects=("emqx", "ocppj"), ocpp_version="2.0.1")
# Our gateway's 2.1 sockets, the same way.
V21_SPEC = RouteSpec(transport=MQTT, dialects=("emqx", "ocppj"), ocpp_version="2.1")


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileSpec(RouteSpec):
    """The route of an MQTT charger profile: OCPP-J arrays whose dialect is the profile's name.

    The name travels as the frame's dialect (and so as its charger's ``ChargePoint.dialect``): that is
    how a reply or a command finds the profile's downlink topic and reply encoding again. What the
    bridge needs to know of the profile when a message arrives is here: whether its chargers restart
    their message ids at every boot.
    """

    ids_restart_at_boot: bool = False

    @property
    def profile(self) -> str:
        return self.dialects[0]


@dataclasses.dataclass(frozen=True)
class ProfileMatch(RouteMatch):
    """A message on a profile's route, with what MQTT said about its delivery.

    ``redelivered`` is the MQTT DUP flag: the broker sends this message again because we did not
    acknowledge it (QoS 1), so it may have been handled already. (A retained delivery never gets
    this far: the consumer drops it, see ``transports.mqtt``.)
    """

    redelivered: bool = False

    def boots_anew(self, action: str) -> bool:
        """Whether a Call of ``action`` delivered so is a new boot of a charger whose ids restart at boot.

        Such firmware sends BootNotification with id "1" every time it starts: within
        CSMS_DUPLICATE_WINDOW it has the id and the payload of the previous boot's, and would be taken
        for its redelivery. A first delivery (QoS 0, or QoS 1 without DUP) is the charger's own.
        """
        spec = self.spec
        return (
            action == "BootNotification"
            and not self.redelivered
            and isinstance(spec, ProfileSpec)
            and spec.ids_restart_at_boot
        )


@dataclasses.dataclass(frozen=True)
class TopicTemplate:
    template: str
    route: Route
    spec: RouteSpec = DEFAULT_SPEC

    @property
    def subscription(self) -> str:
        return self.template.replace("{cid}", "+").replace("{action}", "+")

    @property
    def regex(self) -> re.Pattern[str]:
        parts = []
        for level in self.template.split("/"):
            if level == "+":
                parts.append(r"[^/]+")
            elif level == "#":
                parts.append(r".*")
            else:
                escaped = re.escape(level)
                escaped = escaped.replace(re.escape("{cid}"), f"(?P<cid>{CID_PATTERN})")
                escaped = escaped.replace(re.escape("{action}"), r"(?P<action>[A-Za-z0-9]+)")
                parts.append(escaped)
        return re.compile("/".join(parts) + r"\Z")


def _level_regex(level: str) -> re.Pattern[str]:
    escaped = re.escape(level)
    escaped = escaped.replace(re.escape("{cid}"), CID_PATTERN).replace(re.escape("{action}"), "[A-Za-z0-9]+")
    return re.compile(escaped + r"\Z")


def _levels_overlap(first: str, second: str) -> bool:
    if first == second or "+" in (first, second):
        return True
    if "{" in first and "{" in second:
        return True  # two placeholders: assume some level matches both
    if "{" in first:
        return _level_regex(first).match(second) is not None
    if "{" in second:
        return _level_regex(second).match(first) is not None
    return False


def templates_overlap(first: str, second: str) -> bool:
    """Whether some topic would match both templates (``+`` and placeholders match one level, ``#`` the rest).

    Two routes that overlap make the route of a message depend on the order templates are tried in:
    a profile's uplink must overlap no other route (and its downlink none of our uplinks, or we would
    read our own messages).
    """
    ours, theirs = first.split("/"), second.split("/")
    for index in range(max(len(ours), len(theirs))):
        a = ours[index] if index < len(ours) else None
        b = theirs[index] if index < len(theirs) else None
        if a == "#" or b == "#":
            return True
        if a is None or b is None or not _levels_overlap(a, b):
            return False
    return True


# The name this module gave it first: every transport's consumers now say RouteMatch.
TopicMatch = RouteMatch


class Topics:
    """All the templates in force, built from settings (or given explicitly in tests)."""

    def __init__(
        self,
        *,
        call: str,
        reply: str,
        downstream: str,
        call_overrides: list[str] | None = None,
        presence: list[str] | None = None,
        routes: list[str] | None = None,
        default: RouteSpec = DEFAULT_SPEC,
        call_v201: str = "",
        reply_v201: str = "",
        call_v21: str = "",
        reply_v21: str = "",
        profiles: list[tuple[str, ProfileSpec]] | None = None,
    ) -> None:
        if "{cid}" not in downstream:
            raise ValueError(f"downstream topic {downstream!r} has no {{cid}} placeholder")
        self.downstream = downstream
        self.default = default
        templates = [TopicTemplate(t, Route.CALL, default) for t in [call, *(call_overrides or [])]]
        templates.append(TopicTemplate(reply, Route.REPLY, default))
        if call_v201 and reply_v201:
            templates.append(TopicTemplate(call_v201, Route.CALL, V201_SPEC))
            templates.append(TopicTemplate(reply_v201, Route.REPLY, V201_SPEC))
        if call_v21 and reply_v21:
            templates.append(TopicTemplate(call_v21, Route.CALL, V21_SPEC))
            templates.append(TopicTemplate(reply_v21, Route.REPLY, V21_SPEC))
        for entry in routes or []:
            spec, address = RouteSpec.parse(entry, transport=MQTT)
            templates.append(TopicTemplate(address, Route.CALL, spec))
        for address, profile_spec in profiles or []:
            templates.append(TopicTemplate(address, Route.CALL, profile_spec))
        for address in presence or []:
            route = Route.DISCONNECTED if address.rstrip("/").endswith("disconnected") else Route.CONNECTED
            templates.append(TopicTemplate(address, route, default))
        for template in templates:
            if "{cid}" not in template.template:
                raise ValueError(f"topic template {template.template!r} has no {{cid}} placeholder")
        duplicates = {t.template for t in templates if [u.template for u in templates].count(t.template) > 1}
        if duplicates:
            raise ValueError(f"topic templates {sorted(duplicates)} are configured twice: which route would it be?")
        # The most specific template first: `ocpp/cp/{cid}/Reply` must not be read as a Call topic.
        self.templates = sorted(templates, key=lambda t: -t.template.count("/"))
        self._compiled = [(t, t.regex) for t in self.templates]

    @classmethod
    def from_settings(cls, *, profiles: list[tuple[str, ProfileSpec]] | None = None) -> Topics:
        """The routes of the settings, and the profile routes given (``(uplink template, spec)``)."""
        # The deployment's default dialect first: the one a reply to an unreadable payload is written in.
        first = settings.CSMS_DEFAULT_DIALECT
        dialects = (first, *(d for d in DEFAULT_SPEC.dialects if d != first))
        return cls(
            call=settings.CSMS_TOPIC_CALL,
            reply=settings.CSMS_TOPIC_REPLY,
            downstream=settings.CSMS_TOPIC_DOWNSTREAM,
            call_overrides=settings.CSMS_TOPIC_CALL_OVERRIDES,
            presence=settings.CSMS_TOPIC_PRESENCE,
            routes=settings.CSMS_MQTT_ROUTES,
            default=dataclasses.replace(DEFAULT_SPEC, dialects=dialects),
            call_v201=settings.CSMS_TOPIC_CALL_V201,
            reply_v201=settings.CSMS_TOPIC_REPLY_V201,
            call_v21=settings.CSMS_TOPIC_CALL_V21,
            reply_v21=settings.CSMS_TOPIC_REPLY_V21,
            profiles=profiles,
        )

    @property
    def specs(self) -> list[RouteSpec]:
        """Every route's spec, the default first."""
        return list(dict.fromkeys([self.default, *(t.spec for t in self.templates)]))

    @property
    def subscriptions(self) -> list[str]:
        return list(dict.fromkeys(t.subscription for t in self.templates))

    def match(self, topic: str) -> RouteMatch | None:
        for template, regex in self._compiled:
            found = regex.match(topic)
            if found:
                groups = found.groupdict()
                return RouteMatch(template.route, groups["cid"], groups.get("action") or "", template.spec)
        return None

    def downstream_for(self, charge_point_id: str) -> str:
        return self.downstream.replace("{cid}", charge_point_id)
