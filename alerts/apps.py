from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Operator alerts: critical security events and lockouts, on the dashboard until acknowledged."""

    name = "alerts"
    verbose_name = "Operator alerts"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register, fleet_panel_register

        from . import panels

        fleet_panel_register(Panel("fleet-alerts", "alerts/_fleet_alerts.html", panels.fleet_context))
        charger_panel_register(
            Panel("charger-alerts", "alerts/_charger_alerts.html", panels.charger_context, column="left")
        )
