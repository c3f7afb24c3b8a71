"""Where the services are: the environment's URLs, else the embedded dev stack, else defaults."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import procs

logger = logging.getLogger(__name__)

NAMES = ("DATABASE_URL", "REDIS_URL", "MQTT_URL")
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/csms",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MQTT_URL": "mqtt://127.0.0.1:1883",
}
BROKER_CONFIG = Path(__file__).with_name("mosquitto.conf")


def ensure(data_dir: Path) -> dict[str, str]:
    """Service URLs, exported into ``os.environ`` so children and Django see the same ones."""
    missing = [name for name in NAMES if not os.environ.get(name)]
    if missing and importlib.util.find_spec("backoffice.devstack") is not None:
        from backoffice.devstack import ensure_services

        try:
            started = ensure_services(data_dir)
        except Exception as exc:  # say why in one line, not a traceback
            sys.exit(f"bench: could not start the embedded services ({', '.join(missing)} unset): {exc}")
        for name, url in started.items():
            os.environ.setdefault(name, url)
    for name in NAMES:
        if not os.environ.get(name):
            logger.warning("%s not set and no embedded stack: using %s", name, DEFAULTS[name])
            os.environ[name] = DEFAULTS[name]
    return {name: os.environ[name] for name in NAMES}


def redact(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_own_broker(results_dir: Path, run_id: str) -> tuple[procs.Child, str]:
    """Start Mosquitto with ``bench/mosquitto.conf`` on a free port; returns it and its URL."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        sys.exit("--own-broker needs the mosquitto binary")
    port = free_port()
    config = results_dir / f"{run_id}-mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\n" + BROKER_CONFIG.read_text())
    child = procs.start(
        "broker", [binary, "-c", str(config)], dict(os.environ), results_dir / f"{run_id}-broker.log", results_dir
    )
    _wait_port(port)
    return child, f"mqtt://127.0.0.1:{port}"


def _wait_port(port: int, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"own broker did not listen on {port}")
