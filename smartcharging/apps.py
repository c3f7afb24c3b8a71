from django.apps import AppConfig


class SmartchargingConfig(AppConfig):
    name = "smartcharging"
    verbose_name = "Smart charging"

    def ready(self) -> None:
        from dashboard.panels import charger_panel_register

        from .panels import PANEL

        charger_panel_register(PANEL)
