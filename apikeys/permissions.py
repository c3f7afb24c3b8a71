"""Roles as Django permissions: every API action names the permissions it needs.

The groups created by migration (viewer, operator, admin) are bundles of these model permissions,
so a role can be adjusted in the admin without touching code, and a superuser can do everything.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

# The groups and what they hold (used by the migration that creates them, and by the tests).
VIEWER_PERMISSIONS: tuple[str, ...] = (
    "chargers.view_chargepoint",
    "chargers.view_connector",
    "chargers.view_connectorstatuschange",
    "chargers.view_idtag",
    "chargers.view_chargerevent",
    "chargers.view_command",
    "transactions.view_transaction",
    "transactions.view_metervalue",
    "mqtt_bridge.view_messagelog",
    "mqtt_bridge.view_mqttchargerprofile",
    "tariffs.view_tariff",
    "tariffs.view_chargergroup",
    "alerts.view_alert",
)
OPERATOR_PERMISSIONS: tuple[str, ...] = VIEWER_PERMISSIONS + (
    "chargers.add_idtag",
    "chargers.change_idtag",
    "chargers.delete_idtag",
    "chargers.add_command",
    "chargers.change_command",
    "alerts.change_alert",
)
ADMIN_PERMISSIONS: tuple[str, ...] = OPERATOR_PERMISSIONS + (
    "chargers.change_chargepoint",
    "gateway.view_chargercredential",
    "gateway.add_chargercredential",
    "gateway.change_chargercredential",
    "apikeys.view_apitoken",
    "apikeys.add_apitoken",
    "apikeys.change_apitoken",
    "mqtt_bridge.add_mqttchargerprofile",
    "mqtt_bridge.change_mqttchargerprofile",
    "mqtt_bridge.delete_mqttchargerprofile",
    "tariffs.add_tariff",
    "tariffs.change_tariff",
    "tariffs.delete_tariff",
    "tariffs.add_chargergroup",
    "tariffs.change_chargergroup",
    "tariffs.delete_chargergroup",
)
ROLES: dict[str, tuple[str, ...]] = {
    "viewer": VIEWER_PERMISSIONS,
    "operator": OPERATOR_PERMISSIONS,
    "admin": ADMIN_PERMISSIONS,
}


class ActionPermission(BasePermission):
    """Allow an action when the user holds every permission the view requires for it.

    A view sets ``read_permissions`` (for GET/HEAD/OPTIONS) and ``action_permissions`` (action name ->
    permissions). A write action the view does not list is refused: nothing is writable by default.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        required = required_permissions(request, view)
        return required is not None and user.has_perms(required)


def required_permissions(request: Request, view: Any) -> tuple[str, ...] | None:
    """What the view needs for this request; None when the action is not allowed to anyone."""
    action = getattr(view, "action", None)
    listed: dict[str, tuple[str, ...]] = getattr(view, "action_permissions", {})
    if action in listed:
        return listed[action]
    if request.method in SAFE_METHODS:
        return tuple(getattr(view, "read_permissions", ()))
    return None
