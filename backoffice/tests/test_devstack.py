"""The embedded services behind `make run` / `make test`, started for real in a temporary folder."""

from __future__ import annotations

import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psycopg
import pytest
import redis
from paho.mqtt.enums import CallbackAPIVersion

from backoffice import devstack


@pytest.fixture
def no_service_urls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in devstack.SERVICE_VARS:
        monkeypatch.delenv(name, raising=False)
    yield
    devstack.stop_services()


class _Client:
    """A paho 2.x client that waits for CONNACK and SUBACK, collecting what it receives."""

    def __init__(self, url: str, client_id: str, *, clean_session: bool) -> None:
        parts = urlsplit(url)
        self.received: queue.Queue[bytes] = queue.Queue()
        self._acks: queue.Queue[str] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session)
        self.client.username_pw_set(parts.username, parts.password)
        self.client.on_connect = lambda *_args: self._acks.put("connack")
        self.client.on_subscribe = lambda *_args: self._acks.put("suback")
        self.client.on_message = lambda _client, _userdata, message: self.received.put(bytes(message.payload))
        self.client.connect(parts.hostname or "", parts.port or 1883)
        self.client.loop_start()
        assert self._acks.get(timeout=5) == "connack"

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self._acks.get(timeout=5) == "suback"

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _prove_mqtt_keeps_messages_for_away_subscriber(url: str) -> None:
    topic = f"devstack/{uuid.uuid4().hex}"
    subscriber_id = f"sub-{uuid.uuid4().hex[:8]}"
    subscriber = _Client(url, subscriber_id, clean_session=False)
    subscriber.subscribe(topic)
    subscriber.close()

    publisher = _Client(url, f"pub-{uuid.uuid4().hex[:8]}", clean_session=True)
    publisher.publish(topic, b"sent while away")
    publisher.close()

    # Same client id, persistent session, no new SUBSCRIBE: the broker kept the message for us.
    subscriber = _Client(url, subscriber_id, clean_session=False)
    try:
        assert subscriber.received.get(timeout=5) == b"sent while away"
    finally:
        subscriber.close()


@pytest.mark.timeout(60)
def test_embedded_services_start_work_and_keep_their_data(tmp_path: Path, no_service_urls: None) -> None:
    urls = devstack.ensure_services(tmp_path)

    with psycopg.connect(urls["DATABASE_URL"], autocommit=True) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("csms",)
        conn.execute("CREATE TABLE kept (value text)")
        conn.execute("INSERT INTO kept VALUES ('first run')")
    redis.Redis.from_url(urls["REDIS_URL"]).set("kept", "first run")
    _prove_mqtt_keeps_messages_for_away_subscriber(urls["MQTT_URL"])
    devstack.stop_services()
    redis_port = urlsplit(urls["REDIS_URL"]).port or 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()

    again = devstack.ensure_services(tmp_path)

    with psycopg.connect(again["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT value FROM kept").fetchall() == [("first run",)]
    assert redis.Redis.from_url(again["REDIS_URL"]).get("kept") == b"first run"
    _prove_mqtt_keeps_messages_for_away_subscriber(again["MQTT_URL"])
    # The printed URLs stay true from one run to the next (chargers configured with them reconnect).
    assert again["MQTT_URL"] == urls["MQTT_URL"]
    assert again["REDIS_URL"] == urls["REDIS_URL"]


def test_the_broker_takes_a_new_port_when_its_last_one_is_taken(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    first = devstack.stable_port(port_file)
    assert devstack.stable_port(port_file) == first
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", first))
        squatter.listen()
        second = devstack.stable_port(port_file)
    assert second != first
    assert port_file.read_text().strip() == str(second)


def _redis_process() -> subprocess.Popen[bytes]:
    return devstack._children_to_watch["redis"]


@pytest.mark.timeout(60)
def test_embedded_redis_is_append_only_and_keeps_writes_through_a_kill(tmp_path: Path, no_service_urls: None) -> None:
    # The bridge acknowledges a frame to the broker once its task is in Redis: a Redis that loses
    # its last writes when it dies loses frames no charger sends again.
    urls = devstack.ensure_services(tmp_path)
    client = redis.Redis.from_url(urls["REDIS_URL"])
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert client.config_get("dir")["dir"] == str((tmp_path / "redis").resolve())
    client.rpush("csms", "a task the bridge acknowledged")
    os.kill(_redis_process().pid, signal.SIGKILL)  # no snapshot on the way out
    _redis_process().wait()
    devstack.stop_services()

    again = devstack.ensure_services(tmp_path)

    assert redis.Redis.from_url(again["REDIS_URL"]).lrange("csms", 0, -1) == [b"a task the bridge acknowledged"]


@pytest.mark.timeout(60)
def test_a_data_folder_from_before_append_only_keeps_its_redis_data(tmp_path: Path, no_service_urls: None) -> None:
    urls = devstack.ensure_services(tmp_path)
    client = redis.Redis.from_url(urls["REDIS_URL"])
    client.set("kept", "from the snapshot")
    client.save()
    devstack.stop_services()
    # As an older devstack left it: a dump.rdb, no append-only file.
    (tmp_path / "redis" / "appendonly.aof").unlink()

    again = devstack.ensure_services(tmp_path)

    client = redis.Redis.from_url(again["REDIS_URL"])
    assert client.get("kept") == b"from the snapshot"
    assert client.config_get("appendonly") == {"appendonly": "yes"}


def test_a_missing_database_is_created_once() -> None:
    # `make run` / `make bench` pointed at a fresh machine's PostgreSQL: migrate needs the database.
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = f"csms_probe_{uuid.uuid4().hex[:8]}"
    server = f"postgres://{db['USER']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}"
    if not db["HOST"] or db["HOST"].startswith("/"):
        pytest.skip("the test database is reached through a unix socket")
    devstack.ensure_database(f"{server}/{name}")
    devstack.ensure_database(f"{server}/{name}")  # already there: nothing to do, no error
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        conn.execute(f'DROP DATABASE "{name}"')


class _Devstack:
    """``python -m backoffice.devstack run`` as `make run` starts it, on a data folder of its own."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backoffice.devstack", "--data-dir", str(data_dir), "run"],
            cwd=devstack.REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            self.output.append(line)
            if predicate(line):
                return line
        raise AssertionError("not printed in time:\n" + "\n".join(self.output[-60:]))

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        time.sleep(0.2)  # the reader thread drains what is left
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return "\n".join(self.output)


def _fresh_shell_env(data_dir: Path) -> dict[str, str]:
    """What a new terminal has: no venv on PATH, no service URLs (only the data folder, as a user of
    another --data-dir would export it)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8", "CSMS_DATA_DIR": str(data_dir)}


@pytest.mark.timeout(300)
def test_the_hints_make_run_prints_work_as_printed_from_a_fresh_shell(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in devstack.SERVICE_VARS}
    env.update({
        "CSMS_HTTP_PORT": str(devstack.free_port()),
        "CSMS_GATEWAY_PORT": str(devstack.free_port()),
        "CSMS_WORKER_CONCURRENCY": "1",
        # The web (for the banner), the gateway (for the credentials hint) and the worker (for its log).
        "CSMS_DEVSTACK_SKIP": "bridge,beat,fleet",
        "PYTHONUNBUFFERED": "1",
    })
    data_dir = tmp_path / "data"
    stack = _Devstack(data_dir, env)
    try:
        hint = stack.wait_for(lambda line: "a charger's password:" in line, timeout=180)
        stack.wait_for(lambda line: line.startswith("worker") and " ready." in line, timeout=120)
        command = hint.split("a charger's password:", 1)[1].strip()

        typed = subprocess.run(
            shlex.split(command.replace("<charge point id>", "CP-HINT")), cwd=devstack.REPO_ROOT,
            env=_fresh_shell_env(data_dir), capture_output=True, text=True, timeout=120,
        )

        assert typed.returncode == 0, typed.stderr
        cid, password = typed.stdout.split()
        assert cid == "CP-HINT" and password
        # It went to the running stack's embedded database, not to a default 127.0.0.1:5432.
        exports = (data_dir / "services.env").read_text().splitlines()
        urls = dict(line.removeprefix("export ").split("=", 1) for line in exports)
        with psycopg.connect(urls["DATABASE_URL"]) as conn:
            row = conn.execute("SELECT enabled FROM gateway_chargercredential WHERE charge_point_id = 'CP-HINT'")
            assert row.fetchone() == (True,)
    finally:
        output = stack.stop()
    # Nothing a newcomer reads as an error on a clean start and stop.
    assert "ASGI 'lifespan' protocol appears unsupported" not in output
    assert "MQTT disconnected (" not in output  # the gateway's own disconnect at shutdown
    assert "You're running the worker with superuser privileges" not in output  # root or not
