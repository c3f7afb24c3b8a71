"""Formatting for the dashboard templates: units, durations, status badges, page links."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import template
from django.http import QueryDict

register = template.Library()

# Status (connector, command, registration, charger state, reservation) -> badge colour class.
_BADGES = {
    "available": "ok",
    "accepted": "ok",
    "online": "ok",
    "charging": "busy",
    "occupied": "busy",
    "suspendedev": "busy",
    "suspendedevse": "busy",
    "preparing": "info",
    "finishing": "info",
    "reserved": "info",
    "requested": "info",
    "used": "ok",
    "queued": "info",
    "sent": "info",
    "pending": "warn",
    "unavailable": "muted",
    "unknown": "muted",
    "offline": "muted",
    "expired": "muted",
    "cancelled": "muted",
    "faulted": "bad",
    "rejected": "bad",
    "failed": "bad",
    "timed_out": "bad",
}


@register.filter
def badge(status: str | None) -> str:
    """The CSS modifier of a status badge."""
    return _BADGES.get(str(status or "").lower(), "muted")


@register.filter
def kw(watts: float | None) -> str:
    if watts is None:
        return "—"
    return f"{watts / 1000:.1f} kW"


@register.filter
def kwh(watt_hours: float | None) -> str:
    if watt_hours is None:
        return "—"
    return f"{watt_hours / 1000:.2f} kWh"


@register.filter
def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min" if minutes else f"{int(value.total_seconds())} s"


@register.filter
def as_json(value: Any) -> str:
    """JSON for a data attribute (Django escapes it when the template prints it)."""
    return json.dumps(value, separators=(",", ":"))


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The page's query string with some parameters replaced (for pagination links)."""
    query: Mapping[str, Any] = context.get("query") or {}
    # Every value of a repeated parameter (a QueryDict's list filter), not only its last.
    values = query.lists() if isinstance(query, QueryDict) else ((key, [value]) for key, value in query.items())
    params = {key: kept for key, listed in values if (kept := [value for value in listed if value not in (None, "")])}
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = [value]
    return "?" + urlencode(params, doseq=True)
