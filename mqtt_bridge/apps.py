from django.apps import AppConfig


class MqttBridgeConfig(AppConfig):
    name = "mqtt_bridge"
    verbose_name = "OCPP transport"
