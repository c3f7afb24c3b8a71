"""Panels other apps add to the dashboard's pages, the way they register admin pages.

A feature with an app of its own (firmware updates, smart charging, alerts...) shows its state on the
charger page or the fleet page without editing the dashboard: its ``AppConfig.ready`` registers a
``Panel`` (``charger_panel_register`` / ``fleet_panel_register``). The page renders every panel that
applies, after its own cards, in registration order, and the live consumer re-renders them with the
page's fragments: a panel's template has one root element whose ``id`` is the panel's ``element``,
so a push swaps it in place (``dashboard.fragments``).

The template gets ``panel`` (what ``context`` returned) beside the page's own context (``detail`` on
the charger page, ``fleet`` on the fleet page).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

from django.http import HttpRequest
from django.template.loader import render_to_string

from chargers.models import ChargePoint


@dataclasses.dataclass(frozen=True)
class Panel:
    """One card a feature adds to a page."""

    #: The id of the template's root element (unique on the page).
    element: str
    template: str
    #: The panel's own data: (the charger) on the charger page, () on the fleet page.
    context: Callable[..., Mapping[str, Any]]
    #: The charger page's column: "left" (state and history) or "right" (controls and settings).
    column: Literal["left", "right"] = "right"
    #: The OCPP versions whose chargers show it (None: every charger).
    versions: frozenset[str] | None = None


CHARGER_PANELS: list[Panel] = []
FLEET_PANELS: list[Panel] = []


def charger_panel_register(panel: Panel) -> None:
    """Show ``panel`` on every charger page it applies to (once per element id)."""
    _register(CHARGER_PANELS, panel)


def fleet_panel_register(panel: Panel) -> None:
    """Show ``panel`` on the fleet page, above the charger table (once per element id)."""
    _register(FLEET_PANELS, panel)


def _register(panels: list[Panel], panel: Panel) -> None:
    panels[:] = [known for known in panels if known.element != panel.element]
    panels.append(panel)


@dataclasses.dataclass(frozen=True)
class RenderedPanel:
    element: str
    column: str
    html: str


def charger_panels(
    charge_point: ChargePoint, context: Mapping[str, Any], request: HttpRequest | None = None
) -> list[RenderedPanel]:
    """The charger page's panels for this charger, rendered with the page's ``context``."""
    version = charge_point.ocpp_version or "1.6"
    return [
        RenderedPanel(
            panel.element,
            panel.column,
            render_to_string(panel.template, {**context, "panel": panel.context(charge_point)}, request=request),
        )
        for panel in CHARGER_PANELS
        if panel.versions is None or version in panel.versions
    ]


def fleet_panels(context: Mapping[str, Any], request: HttpRequest | None = None) -> list[RenderedPanel]:
    """The fleet page's panels, rendered with the page's ``context``."""
    return [
        RenderedPanel(
            panel.element,
            panel.column,
            render_to_string(panel.template, {**context, "panel": panel.context()}, request=request),
        )
        for panel in FLEET_PANELS
    ]


def as_fragments(panels: list[RenderedPanel]) -> dict[str, str]:
    """``{element id: html}`` for a live push."""
    return {panel.element: panel.html for panel in panels}
