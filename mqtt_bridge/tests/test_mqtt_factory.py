"""One factory builds every MQTT client: the bridge, the publisher, our gateway, /healthz, the benchmark."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
FACTORY = ROOT / "mqtt_bridge" / "mqtt.py"


def _paho_client_calls(path: Path) -> list[int]:
    """Lines of ``path`` that construct a paho ``Client``, whatever name paho was imported under."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules: set[str] = set()  # names bound to paho.mqtt.client
    classes: set[str] = set()  # names bound to paho.mqtt.client.Client
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.asname for alias in node.names if alias.name == "paho.mqtt.client" and alias.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "paho.mqtt.client":
            classes |= {alias.asname or alias.name for alias in node.names if alias.name == "Client"}
        elif isinstance(node, ast.ImportFrom) and node.module == "paho.mqtt":
            modules |= {alias.asname or alias.name for alias in node.names if alias.name == "client"}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "Client" and isinstance(func.value, ast.Name):
            if func.value.id in modules:
                lines.append(node.lineno)
        elif isinstance(func, ast.Name) and func.id in classes:
            lines.append(node.lineno)
    return lines


def test_paho_clients_are_built_only_by_the_factory() -> None:
    # Application code only: tests play the gateways and chargers, which are not ours.
    found = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "node_modules"} or "tests" in relative.parts or path.name == "conftest.py":
            continue
        if lines := _paho_client_calls(path):
            found[str(relative)] = lines
    assert list(found) == ["mqtt_bridge/mqtt.py"], found


def test_the_check_sees_every_spelling_of_a_paho_client(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import paho.mqtt.client as mqtt\nfrom paho.mqtt.client import Client as C\nfrom paho.mqtt import client\n"
        "a = mqtt.Client()\nb = C()\nc = client.Client()\n"
    )
    assert _paho_client_calls(source) == [4, 5, 6]
    assert _paho_client_calls(FACTORY)


def test_a_client_from_a_url_needs_no_django_settings_and_sets_tcp_nodelay() -> None:
    # The benchmark's load generator has no Django settings: a URL is all the factory needs.
    script = """
import socket, sys, threading
from mqtt_bridge.mqtt import broker_address, client_create
url = sys.argv[1]
client = client_create(client_id="factory-test", clean_session=True, url=url, username_fallback="factory-test")
done = threading.Event()
client.on_connect = lambda c, u, f, reason, p: done.set()
client.connect(*broker_address(url))
client.loop_start()
assert done.wait(10), "no CONNACK"
print(client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
client.disconnect()
client.loop_stop()
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO", "CSMS", "MQTT"))}
    result = subprocess.run(
        [sys.executable, "-c", script, settings.MQTT_URL], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) != 0
