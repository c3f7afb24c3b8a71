"""The embedded services behind `make run` / `make test`, started for real in a temporary folder."""

from __future__ import annotations

import queue
import socket
import uuid
from collections.abc import Iterator
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
        self.client.on_message = lambda _client, _userdata, message: self.received.put(message.payload)
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
