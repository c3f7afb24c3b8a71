from typing import Any

from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "maintenance"
    verbose_name = "Firmware and logs"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register

        from .selectors import charger_maintenance

        def context(charge_point: Any) -> dict[str, Any]:
            return {"maintenance": charger_maintenance(charge_point)}

        charger_panel_register(
            Panel(
                element="charger-maintenance",
                template="maintenance/_charger_maintenance.html",
                context=context,
                column="left",
            )
        )
