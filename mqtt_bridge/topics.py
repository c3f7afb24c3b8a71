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
- **Further routes** come from ``CSMS_MQTT_ROUTES``: a comma-separated list of
  ``<dialect>[+<dialect>...]@<version>:<template>``, e.g. ``ocppj@1.6:charger/{cid}`` (a route of raw
  OCPP-J chargers that accepts nothing else) or ``ocppj@2.0.1:charger201/{cid}`` (chargers that speak
  2.0.1 over MQTT themselves). Each is a Call topic that takes results and errors too (the
  MessageTypeId tells them apart).
- Everything goes out on ``CSMS_TOPIC_DOWNSTREAM`` (``ocpp/cs/{cid}``), encoded in the frame's dialect.
"""

from __future__ import annotations

import dataclasses
import re

from django.conf import settings

from .routes import DEFAULT_SPEC, MQTT, Route, RouteMatch, RouteSpec

__all__ = ["CID_PATTERN", "DEFAULT_SPEC", "V201_SPEC", "Route", "RouteSpec", "TopicMatch", "TopicTemplate", "Topics"]

CID_PATTERN = r"[^/+#]{1,48}"
# Our gateway's 2.0.1 sockets: it publishes the EMQX envelope for every version, so a reply to a
# payload whose structure could not be read is written as one (CSMS_DEFAULT_DIALECT is the 1.6
# route's, whose gateway may be any).
V201_SPEC = RouteSpec(transport=MQTT, dialects=("emqx", "ocppj"), ocpp_version="2.0.1")


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
        for entry in routes or []:
            spec, address = RouteSpec.parse(entry, transport=MQTT)
            templates.append(TopicTemplate(address, Route.CALL, spec))
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
    def from_settings(cls) -> Topics:
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
