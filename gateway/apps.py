from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """Our own EMQX-compatible OCPP-J gateway, its charger credentials and the fleet simulator."""

    name = "gateway"
    verbose_name = "OCPP gateway"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register

        from . import rotation

        charger_panel_register(
            Panel("charger-credential", "gateway/_charger_credential.html", rotation.credential_panel_context)
        )
