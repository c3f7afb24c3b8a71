from django.apps import AppConfig


class FleetConfig(AppConfig):
    """The read side: the figures (energy, duration, power, charger state) every page and API shows."""

    name = "fleet"
    verbose_name = "Fleet (read side)"
