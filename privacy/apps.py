from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Customer information"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register

        from .selectors import charger_customer_information

        charger_panel_register(
            Panel(
                element="charger-customer-information",
                template="privacy/_charger_customer_information.html",
                context=charger_customer_information,
                column="left",
                versions=frozenset({"2.0.1", "2.1"}),
            )
        )
