from django.apps import AppConfig


class MqttBridgeConfig(AppConfig):
    name = "mqtt_bridge"
    verbose_name = "OCPP transport"

    def ready(self) -> None:
        # Imported here, once the models are: Django's way for what an app registers at start.
        from chargers import ports

        from . import mqtt, profiles

        # The domain asks, without importing us, whether a charger takes commands; the publisher
        # (which must import without Django for the benchmark) where a profile's chargers listen.
        ports.command_refuser_register(profiles.charge_points_refused)
        mqtt.downlinks_register(profiles.profile_downlinks)
