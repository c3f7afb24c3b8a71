"""Write the CSMS CA's certificate (PEM) to a file or stdout: the file CSMS_GATEWAY_TLS_CLIENT_CA names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from certificates.services import ca_certificate_pem


class Command(BaseCommand):
    help = (
        "Write the CSMS CA certificate (PEM; the CA is made on first use) to PATH, or stdout: "
        "point CSMS_GATEWAY_TLS_CLIENT_CA at it so profile 3 chargers' certificates verify. Never the key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        pem = ca_certificate_pem()
        if options["path"]:
            Path(options["path"]).write_text(pem, encoding="ascii")
            self.stderr.write(f"CSMS CA certificate written to {options['path']}")
        else:
            self.stdout.write(pem, ending="")
