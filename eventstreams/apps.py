from django.apps import AppConfig


class EventstreamsConfig(AppConfig):
    name = "eventstreams"
    verbose_name = "Periodic event streams"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register

        from .selectors import charger_event_streams

        charger_panel_register(
            Panel(
                element="charger-event-streams",
                template="eventstreams/_charger_event_streams.html",
                context=charger_event_streams,
                column="left",
                # Periodic event streams are OCPP 2.1's.
                versions=frozenset({"2.1"}),
            )
        )
