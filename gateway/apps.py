from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """Our own EMQX-compatible OCPP-J gateway, its charger credentials and the fleet simulator."""

    name = "gateway"
    verbose_name = "OCPP gateway"

    def ready(self) -> None:
        from dashboard.panels import Panel, charger_panel_register

        from . import rotation

        charger_panel_register(
            Panel("charger-credential", "gateway/_charger_credential.html", rotation.credential_panel_context)
        )
        _security_blocks_wire()


def _security_blocks_wire() -> None:
    """Plug the credentials (rotation, profile upgrade) into the versions' security blocks, both ways.

    The credentials are the gateway's, and a protocol package imports no transport: so the gateway registers
    its side with each block (``credential_side_register``) and takes each version's spelling of a password
    change and of an upgrade from it. 2.1 runs the 2.0.1 block (``protocols.v21.protocol``).
    """
    from protocols.v16 import security as v16
    from protocols.v201 import security as v201

    from . import rotation, upgrade
    from .models import ChargerCredential

    def security_profile(charge_point_id: str) -> int | None:
        return (
            ChargerCredential.objects.filter(charge_point_id=charge_point_id)
            .values_list("security_profile", flat=True)
            .first()
        )

    side = v16.CredentialSide(
        rotation_refusal=rotation.rotation_refusal,
        rotation_queued=rotation.rotation_queued,
        rotation_answered=rotation.rotation_answered,
        upgrade_step_answered=upgrade.upgrade_step_answered,
        security_profile=security_profile,
    )
    for module, versions in ((v16, ("1.6",)), (v201, ("2.0.1", "2.1"))):
        module.credential_side_register(side)
        spelling = rotation.RotationSpelling(
            action=module.ROTATION_ACTION,
            payload=module.rotation_payload,
            password_of=module.rotation_password_of,
            masked=module.rotation_masked,
        )
        steps = upgrade.UpgradeSpelling(root_certificate_type=module.UPGRADE_ROOT_TYPE, steps=module.upgrade_steps)
        for version in versions:
            rotation.rotation_spelling_register(version, spelling)
            upgrade.upgrade_spelling_register(version, steps)
