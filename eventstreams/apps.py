from django.apps import AppConfig


class EventstreamsConfig(AppConfig):
    name = "eventstreams"
    verbose_name = "Periodic event streams"
