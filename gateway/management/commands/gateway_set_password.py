"""python manage.py gateway_set_password CID [--password P] [--security-profile N] [--disable]: a charger credential."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gateway import services
from gateway.models import SecurityProfile


class Command(BaseCommand):
    help = "Set (or generate) the HTTP Basic password a charge point uses with the OCPP gateway."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("charge_point_id")
        parser.add_argument(
            "--password", help="the password (AuthorizationKey, 16 to 40 characters); generated when omitted"
        )
        parser.add_argument(
            "--security-profile",
            type=int,
            choices=SecurityProfile.values,
            help="0 none, 1 Basic auth, 2 TLS + Basic auth, 3 TLS client certificate; without --password an "
            "existing credential keeps its password",
        )
        parser.add_argument("--disable", action="store_true", help="disable the credential instead")

    def handle(self, *args: Any, **options: Any) -> None:
        cid = options["charge_point_id"]
        if options["disable"]:
            if not services.credential_set_enabled(charge_point_id=cid, enabled=False):
                raise CommandError(f"no credential for {cid}")
            self.stdout.write(f"disabled {cid}")
            return
        profile = options["security_profile"]
        if profile is not None and options["password"] is None:
            if services.credential_set_security_profile(charge_point_id=cid, security_profile=profile):
                self.stdout.write(f"security profile {profile} set for {cid}")
                return
        try:
            _, password = services.credential_set_password(
                charge_point_id=cid, password=options["password"], security_profile=profile
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{cid} {password}" if options["password"] is None else f"password set for {cid}")
