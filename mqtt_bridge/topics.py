"""Topic templates: the subscriptions they make, and the charge point id they carry.

Templates use ``{cid}`` and ``{action}`` placeholders and may contain MQTT wildcards (``+``) for
parts we do not care about (the broker node name in ``$SYS`` presence topics). The charge point
id is taken by matching the whole template, never by a fixed position, so a deployment that
changes the gateway's topics only changes these settings.
"""

from __future__ import annotations

import dataclasses
import enum
import re

from django.conf import settings

CID_PATTERN = r"[^/+#]{1,48}"


class Route(enum.Enum):
    CALL = "call"  # upstream Calls (and anything else a gateway sends there)
    REPLY = "reply"  # upstream CallResults and CallErrors
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


@dataclasses.dataclass(frozen=True)
class TopicTemplate:
    template: str
    route: Route

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


@dataclasses.dataclass(frozen=True)
class TopicMatch:
    route: Route
    charge_point_id: str
    action: str = ""


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
    ) -> None:
        if "{cid}" not in downstream:
            raise ValueError(f"downstream topic {downstream!r} has no {{cid}} placeholder")
        self.downstream = downstream
        templates = [TopicTemplate(t, Route.CALL) for t in [call, *(call_overrides or [])]]
        templates.append(TopicTemplate(reply, Route.REPLY))
        for template in presence or []:
            route = Route.DISCONNECTED if template.rstrip("/").endswith("disconnected") else Route.CONNECTED
            templates.append(TopicTemplate(template, route))
        for template in templates:
            if "{cid}" not in template.template:
                raise ValueError(f"topic template {template.template!r} has no {{cid}} placeholder")
        # The most specific template first: `ocpp/cp/{cid}/Reply` must not be read as a Call topic.
        self.templates = sorted(templates, key=lambda t: -t.template.count("/"))
        self._compiled = [(t, t.regex) for t in self.templates]

    @classmethod
    def from_settings(cls) -> Topics:
        return cls(
            call=settings.CSMS_TOPIC_CALL,
            reply=settings.CSMS_TOPIC_REPLY,
            downstream=settings.CSMS_TOPIC_DOWNSTREAM,
            call_overrides=settings.CSMS_TOPIC_CALL_OVERRIDES,
            presence=settings.CSMS_TOPIC_PRESENCE,
        )

    @property
    def subscriptions(self) -> list[str]:
        return list(dict.fromkeys(t.subscription for t in self.templates))

    def match(self, topic: str) -> TopicMatch | None:
        for template, regex in self._compiled:
            found = regex.match(topic)
            if found:
                groups = found.groupdict()
                return TopicMatch(template.route, groups["cid"], groups.get("action") or "")
        return None

    def downstream_for(self, charge_point_id: str) -> str:
        return self.downstream.replace("{cid}", charge_point_id)
