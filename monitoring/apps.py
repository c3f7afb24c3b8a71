from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """2.0.1 variable monitoring and the station's event history (block N), with its charger-page panel."""

    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register

        from . import panels

        charger_panel_register(
            Panel(
                "charger-monitoring",
                "monitoring/_charger_monitoring.html",
                panels.charger_context,
                column="left",
                versions=frozenset({"2.0.1", "2.1"}),
            )
        )
