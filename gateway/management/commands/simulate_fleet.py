"""python manage.py simulate_fleet --chargers N [--v201 M] --url ws://host:33033/ocpp: a simulated fleet
of OCPP 1.6-J charge points and OCPP 2.0.1 stations."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chargers.services import demo_fleet_provision
from gateway import services, simulator_v201
from gateway.runtime import raise_open_files_limit, stop_event_on_signals
from gateway.simulator import ID_TAGS, Options, run_fleet

MAX_PROVISION = 200  # each credential costs one password hash (~0.2 s)


class Command(BaseCommand):
    help = (
        "Run N simulated OCPP 1.6-J charge points (and M OCPP 2.0.1 stations, --v201) against a gateway "
        "(ours; EMQX's speaks 1.6 only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chargers", type=int, default=10, help="OCPP 1.6-J charge points (0: none)")
        parser.add_argument("--v201", type=int, default=0, metavar="M", help="OCPP 2.0.1 stations beside them")
        parser.add_argument("--url", default=f"ws://127.0.0.1:{settings.CSMS_GATEWAY_PORT}/ocpp")
        parser.add_argument("--prefix", default="sim-", help="charge point ids are <prefix><number>")
        parser.add_argument("--v201-prefix", default="sim201-", help="2.0.1 station ids are <prefix><number>")
        parser.add_argument("--password", help="HTTP Basic password of every simulated charger")
        parser.add_argument(
            "--no-provision",
            action="store_true",
            help="do not create gateway credentials for the simulated chargers (by default they are "
            "created when no --password is given and the gateway refuses anonymous chargers)",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="provision the fleet as demo data: its chargers registered and Accepted (whatever "
            "CSMS_BOOT_POLICY says) and the id tags its drivers present created, all marked demo",
        )
        parser.add_argument("--idle", action="store_true", help="boot and heartbeat only, no sessions")
        parser.add_argument(
            "--tls-url",
            help="wss:// URL the 1.6 chargers use once upgraded to security profile 2 or 3 (default: --url as wss://); "
            "2.0.1 stations take theirs from SetNetworkProfile",
        )
        parser.add_argument(
            "--tls-ca",
            help="CA file the chargers trust for TLS besides the CSMS root certificates installed on them "
            "(InstallCertificate)",
        )
        parser.add_argument(
            "--status-step",
            type=float,
            default=2.0,
            help="seconds between the status notifications of a firmware update, log upload or publication",
        )
        parser.add_argument("--ramp", type=float, default=200.0, help="new chargers per second")
        parser.add_argument("--session-gap", type=float, nargs=2, default=(60.0, 900.0), metavar=("MIN", "MAX"))
        parser.add_argument("--session-length", type=float, nargs=2, default=(300.0, 2400.0), metavar=("MIN", "MAX"))

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["chargers"]
        count_v201: int = options["v201"]
        if count < 0 or count_v201 < 0 or count + count_v201 < 1:
            raise CommandError("--chargers and --v201 must not be negative, and make at least one charger")
        if options["tls_ca"] and not os.path.isfile(options["tls_ca"]):
            raise CommandError(f"--tls-ca {options['tls_ca']!r} is not a file")
        prefix: str = options["prefix"]
        width = max(3, len(str(count)))
        cids = [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]
        cids_v201 = simulator_v201.station_ids(count_v201, options["v201_prefix"])
        if any(not services.charge_point_id_is_valid(cid) for cid in cids + cids_v201):
            raise CommandError(
                "--prefix or --v201-prefix makes invalid charge point ids (max 48 characters, none of / + #)"
            )
        if set(cids) & set(cids_v201):
            raise CommandError("--prefix and --v201-prefix make the same charge point ids")
        everyone = cids + cids_v201
        if options["demo"]:
            # The version is not provisioned: a charger's is written from the route of its frames.
            provisioned = demo_fleet_provision(charge_point_ids=everyone, id_tags=list(ID_TAGS))
            self.stdout.write(
                f"demo fleet provisioned: {len(provisioned.charge_points_created)} chargers and "
                f"{len(provisioned.id_tags_created)} id tags created, {len(provisioned.charge_points_accepted)} "
                "pending ones accepted (marked demo in the admin)"
            )
        password = options["password"]
        if password is None and not options["no_provision"] and not settings.CSMS_GATEWAY_ALLOW_ANONYMOUS:
            if len(everyone) > MAX_PROVISION:
                raise CommandError(
                    f"provisioning more than {MAX_PROVISION} credentials is slow: pass --password for "
                    "provisioned chargers, or --no-provision with CSMS_GATEWAY_ALLOW_ANONYMOUS=true"
                )
            password = secrets.token_urlsafe(18)
            for cid in everyone:
                services.credential_set_password(charge_point_id=cid, password=password, note="simulate_fleet")
            self.stdout.write(f"gateway credentials set for {len(everyone)} simulated chargers")
        logging.getLogger("ocpp").setLevel(logging.WARNING)
        logging.getLogger("websockets").setLevel(logging.WARNING)
        raise_open_files_limit()
        fleet_options = Options(
            url=options["url"],
            password=password,
            idle=options["idle"],
            session_gap=tuple(options["session_gap"]),
            session_length=tuple(options["session_length"]),
            ws_ping_interval=None if options["idle"] else 60.0,
            tls_url=options["tls_url"],
            tls_ca=options["tls_ca"],
            status_step=options["status_step"],
        )
        fleets = [
            f"{len(ids)} {kind} ({ids[0]} .. {ids[-1]})"
            for kind, ids in (("OCPP 1.6 chargers", cids), ("OCPP 2.0.1 stations", cids_v201))
            if ids
        ]
        self.stdout.write(f"simulating {' and '.join(fleets)} against {options['url']}")
        asyncio.run(self._run(count, prefix, count_v201, options["v201_prefix"], fleet_options, options["ramp"]))

    async def _run(
        self, count: int, prefix: str, count_v201: int, prefix_v201: str, options: Options, ramp: float
    ) -> None:
        stop = stop_event_on_signals()
        fleets = []
        if count:
            fleets.append(run_fleet(count=count, prefix=prefix, options=options, stop=stop, ramp_per_second=ramp))
        if count_v201:
            fleets.append(
                simulator_v201.run_fleet(
                    count=count_v201, prefix=prefix_v201, options=options, stop=stop, ramp_per_second=ramp
                )
            )
        await asyncio.gather(*fleets)
