from django.apps import AppConfig


class DisplaysConfig(AppConfig):
    name = "displays"
    verbose_name = "Display messages"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register

        from .selectors import charger_display_messages

        charger_panel_register(
            Panel(
                element="charger-display-messages",
                template="displays/_charger_display_messages.html",
                context=charger_display_messages,
                versions=frozenset({"2.0.1", "2.1"}),
            )
        )
