"""Shared fixtures: the real broker, and a real bridge + Celery worker for end-to-end tests.

Everything talks to the services named by DATABASE_URL, REDIS_URL and MQTT_URL (``make test``
starts embedded ones when they are unset). End-to-end tests publish exactly what a gateway
publishes on ``ocpp/cp/{cid}`` and read our answers on ``ocpp/cs/{cid}`` (under a per-run topic prefix).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import paho.mqtt.client as paho
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent
# backoffice/pytest_env.py gave this run its own Celery queue and MQTT topic prefix.
RUN_ID = os.environ["CSMS_TEST_RUN_ID"]
TOPIC_PREFIX = f"test-{RUN_ID}/"


def unique_cid(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


class GatewayClient:
    """Plays a gateway: publishes charger frames as EMQX does and collects what we send back."""

    def __init__(self, url: str | None = None) -> None:
        from mqtt_bridge.mqtt import broker_address, client_create

        self.replies: dict[str, queue.Queue[dict[str, Any] | list[Any]]] = {}
        self.calls: dict[str, queue.Queue[dict[str, Any] | list[Any]]] = {}
        self.client = client_create(client_id=f"test-gw-{uuid.uuid4().hex[:10]}", clean_session=True, url=url)
        self.client.on_message = self._on_message
        host, port = broker_address(url)
        self.client.connect(host, port)
        self.client.loop_start()
        self._subscribed: set[str] = set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        body = json.loads(message.payload)
        kind, message_id = (body[0], body[1]) if isinstance(body, list) else (body["MessageTypeId"], body["UniqueId"])
        if kind == 2:  # a Call we sent: a command
            self.calls.setdefault(message.topic.rsplit("/", 1)[-1], queue.Queue()).put(body)
        else:
            self.replies.setdefault(message_id, queue.Queue()).put(body)

    def listen(self, cid: str) -> None:
        topic = f"{TOPIC_PREFIX}ocpp/cs/{cid}"
        if topic not in self._subscribed:
            info = self.client.subscribe(topic, qos=1)
            assert info[0] == paho.MQTT_ERR_SUCCESS
            self._subscribed.add(topic)
            time.sleep(0.2)  # let the SUBACK arrive before anything is published

    def publish(self, cid: str, payload: bytes | str | dict[str, Any] | list[Any], topic: str | None = None) -> None:
        self.listen(cid)
        if isinstance(payload, dict | list):
            payload = json.dumps(payload)
        info = self.client.publish(topic or f"{TOPIC_PREFIX}ocpp/cp/{cid}", payload, qos=1)
        info.wait_for_publish(5)

    def call(
        self, cid: str, action: str, payload: dict[str, Any], message_id: str | None = None, timeout: float = 15
    ) -> dict[str, Any]:
        """Send an EMQX-format Call and return our EMQX-format reply."""
        message_id = message_id or uuid.uuid4().hex[:16]
        self.publish(cid, {"MessageTypeId": 2, "UniqueId": message_id, "Action": action, "Payload": payload})
        return self.emqx_reply(message_id, timeout)

    def reply(self, message_id: str, timeout: float = 15) -> dict[str, Any] | list[Any]:
        """Our reply to ``message_id``: an EMQX object, or an OCPP-J array on a raw route."""
        try:
            return self.replies.setdefault(message_id, queue.Queue()).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no reply to {message_id} within {timeout} s") from None

    def emqx_reply(self, message_id: str, timeout: float = 15) -> dict[str, Any]:
        """Our reply to ``message_id``, which must be an EMQX-format object."""
        reply = self.reply(message_id, timeout)
        assert isinstance(reply, dict), reply
        return reply

    def next_call(self, cid: str, timeout: float = 15) -> dict[str, Any]:
        """The next Call (a command) we sent to ``cid``, in EMQX JSON."""
        try:
            call = self.calls.setdefault(cid, queue.Queue()).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no Call to {cid} within {timeout} s") from None
        assert isinstance(call, dict)
        return call

    def answer(self, cid: str, message_id: str, payload: dict[str, Any]) -> None:
        """Answer one of our Calls as the charger would, on the gateway's reply topic."""
        self.publish(
            cid,
            {"MessageTypeId": 3, "UniqueId": message_id, "Payload": payload},
            topic=f"{TOPIC_PREFIX}ocpp/cp/{cid}/Reply",
        )

    def no_reply(self, message_id: str, wait: float = 1.5) -> bool:
        try:
            self.replies.setdefault(message_id, queue.Queue()).get(timeout=wait)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


class Stack:
    """A bridge and a Celery worker as child processes, pointed at the test database."""

    def __init__(self, tmp: Path, **overrides: str) -> None:
        self.tmp = tmp
        self.queue = overrides.get("CSMS_CELERY_QUEUE", settings.CELERY_TASK_DEFAULT_QUEUE)
        self.env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CSMS_MQTT_CLIENT_ID": f"test-bridge-{RUN_ID}",
            "CSMS_BOOT_POLICY": "accept",
            "CSMS_UNKNOWN_ID_TAG_POLICY": "invalid",
            "CSMS_MAX_PAYLOAD_BYTES": "4096",
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }
        self.bridge: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        # A session of its own: a test can kill a worker with its pool processes, as a crash would.
        return subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_worker(self, concurrency: int = 2) -> None:
        self.worker = self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "worker",
                "-Q",
                self.queue,
                "-c",
                str(concurrency),
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )

    def start_bridge(self) -> None:
        self.bridge = self._spawn("bridge", [sys.executable, "manage.py", "run_mqtt_bridge"])

    def stop_bridge(self) -> int:
        assert self.bridge is not None
        self.bridge.send_signal(signal.SIGTERM)
        code = self.bridge.wait(timeout=30)
        self.bridge = None
        return code

    def drain(self, timeout: float = 30, quiet: float = 0.5) -> None:
        """Wait until the worker has been idle for ``quiet`` seconds: nothing in its queue and no task in hand
        (acks_late: a task being run stays in kombu's ``unacked`` hash until it is done).

        A test that ends while frames are still being handled races the test database's flush; a frame a
        stopping gateway publishes last (a disconnect) may reach the queue a moment after it looked empty.
        """
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if client.llen(self.queue) or client.hlen("unacked"):
                idle_since = None
            elif idle_since is None:
                idle_since = now
            elif now - idle_since >= quiet:
                return
            time.sleep(0.05)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}" for path in sorted(self.tmp.glob("*.log"))
        )

    def stop(self) -> None:
        import redis

        for process in (self.bridge, self.worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.bridge, self.worker):
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        # Leave no queue of this run behind in a shared Redis.
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(self.queue)


@pytest.fixture(scope="session")
def stack(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running bridge and worker for the whole session; waits until a Heartbeat is answered."""
    global _RUNNING_STACK
    running = Stack(tmp_path_factory.mktemp("stack"))
    _RUNNING_STACK = running
    running.start_worker()
    running.start_bridge()
    client = GatewayClient()
    try:
        deadline = time.monotonic() + 60
        cid = unique_cid("probe")
        while True:
            try:
                client.call(cid, "Heartbeat", {}, timeout=3)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise AssertionError("the stack did not answer within 60 s\n" + running.logs()) from None
        yield running
    finally:
        _RUNNING_STACK = None
        client.close()
        running.stop()


@pytest.fixture
def gateway() -> Iterator[GatewayClient]:
    client = GatewayClient()
    yield client
    client.close()


@pytest.fixture
def cid() -> str:
    return unique_cid()


#: The session's stack once an e2e test started it: its worker also takes the tasks other tests enqueue.
_RUNNING_STACK: Stack | None = None


def _transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or "transactional_db" in request.fixturenames


@pytest.fixture(autouse=True)
def _stack_drained(request: pytest.FixtureRequest) -> Iterator[None]:
    """Before the test database is flushed, wait for the stack's worker to finish what the test gave it: the
    frames of a test's chargers, and for any transactional test once the stack runs, the tasks its commits
    enqueued (a queued command wakes the dispatcher, which the session's worker runs). A task still writing
    when the flush's TRUNCATE comes deadlocks the flush (CI saw both). The database fixture is set up first,
    so this teardown runs before its flush."""
    uses_stack = "stack" in request.fixturenames
    if not uses_stack and not (_RUNNING_STACK is not None and _transactional(request)):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    running: Stack = request.getfixturevalue("stack") if uses_stack else _RUNNING_STACK  # type: ignore[assignment]
    yield
    # A test's own chargers may still have frames on the way (a stopping gateway's last disconnect); the
    # tasks a commit enqueued are in the queue already.
    running.drain(quiet=0.5 if uses_stack else 0.1)
