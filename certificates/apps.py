from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    """The fleet's certificate authority, each charger's certificates, and their dashboard panels."""

    name = "certificates"
    verbose_name = "Certificates"

    def ready(self) -> None:
        from chargers.ports import call_refusal_observer_register
        from dashboard.panels import Panel, charger_panel_register, fleet_panel_register

        from . import panels, services

        # Both versions (and 2.1) name it SignCertificate: one observer for every version's schema refusals.
        call_refusal_observer_register("SignCertificate", services.sign_certificate_refused)
        charger_panel_register(
            Panel(
                "charger-certificates",
                "certificates/_charger_certificates.html",
                panels.charger_context,
                column="left",
            )
        )
        fleet_panel_register(Panel("fleet-certificates", "certificates/_fleet_certificates.html", panels.fleet_context))
