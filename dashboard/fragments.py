"""The parts of each page that change live, rendered the same way for a page load and a push.

A view renders a whole page whose templates ``{% include %}`` these fragments; a consumer renders
only the fragments and sends them as ``{"fragments": {element id: html}}``. The element id is the
id of the fragment's root element, so the browser swaps it in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

FLEET = {
    "fleet-counts": "dashboard/_fleet_counts.html",
    "fleet-table": "dashboard/_fleet_table.html",
}
CHARGER = {
    "charger-header": "dashboard/_charger_header.html",
    "charger-connectors": "dashboard/_charger_connectors.html",
    "charger-sessions": "dashboard/_charger_sessions.html",
    "charger-commands": "dashboard/_charger_commands.html",
    "charger-reservations": "dashboard/_charger_reservations.html",
    "charger-messages": "dashboard/_charger_messages.html",
    "charger-configuration": "dashboard/_charger_configuration.html",
}
SESSIONS = {"sessions-table": "dashboard/_sessions_table.html"}
SESSION = {"session-summary": "dashboard/_session_summary.html"}
# A session the charger names (2.0.1) also shows its TransactionEvents.
SESSION_EVENTS = {"session-events": "dashboard/_session_events.html"}
REGISTRATIONS = {"pending-table": "dashboard/_pending_table.html"}


def render_fragments(
    templates: Mapping[str, str], context: Mapping[str, Any], request: HttpRequest | None = None
) -> dict[str, str]:
    """Render each fragment template with the same context: ``{element id: html}``."""
    return {element: render_to_string(name, dict(context), request=request) for element, name in templates.items()}
