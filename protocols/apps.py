from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "protocols"
    verbose_name = "OCPP versions"

    def ready(self) -> None:
        # Imported here, not at the top: the packages' handlers use the models, which do not exist
        # yet when Django imports this module.
        from chargers import ports

        from . import register
        from .v16 import protocol as v16
        from .v21 import protocol as v21
        from .v201 import protocol as v201

        for version in (v16, v201, v21):
            register(version.PROTOCOL)
            ports.register(version.PORT)
