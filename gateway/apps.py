from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """Our own EMQX-compatible OCPP-J gateway, its charger credentials and the fleet simulator."""

    name = "gateway"
    verbose_name = "OCPP gateway"
