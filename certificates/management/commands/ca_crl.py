"""Write the CSMS CA's CRL (PEM) to a file or stdout: a file for CSMS_GATEWAY_TLS_CRL, rewritten daily or after a
revocation (the gateway rereads it when it changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from certificates.services import ca_crl_pem


class Command(BaseCommand):
    help = "Write the CSMS CA's CRL (every certificate it issued and an operator revoked) to PATH, or stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="file to write (default: stdout)")
        parser.add_argument("--days", type=int, default=7, help="validity of the CRL (nextUpdate), in days")

    def handle(self, *args: Any, **options: Any) -> None:
        pem = ca_crl_pem(now=timezone.now(), days=options["days"])
        if options["path"]:
            # Written whole, then renamed: the gateway never reads half a CRL.
            target = Path(options["path"])
            partial = target.with_name(f".{target.name}.tmp")
            partial.write_text(pem, encoding="ascii")
            partial.replace(target)
            self.stderr.write(f"CSMS CA CRL written to {target}")
        else:
            self.stdout.write(pem, ending="")
