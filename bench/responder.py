"""A bare responder: the transport ceiling, measured with the same load as the backoffice.

A minimal paho subscriber on the call topic of every OCPP version (``bench.versions``) that parses
each frame and answers every Call at once with a schema-valid CallResult of the topic's version
(``csms_result``), no database, no Celery. Topics follow ``CSMS_TOPIC_CALL``, ``CSMS_TOPIC_CALL_V201``
and ``CSMS_TOPIC_DOWNSTREAM`` like the backoffice's.
Run it as ``python -m bench.responder --url mqtt://... [--client-id ID]``; it prints the
number of frames it answered when stopped (SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

import paho.mqtt.client as mqtt

from bench import mqtt as bench_mqtt
from bench.mqtt import Topics
from bench.versions import V16, VERSIONS, Version


class Responder:
    """Answers every Call on a call topic with a CallResult of its version on the downstream topic."""

    def __init__(self, routes: list[tuple[Topics, Version]] | None = None) -> None:
        # The most specific call template first, as the bridge matches them.
        self.routes = sorted(routes or [(Topics(), V16)], key=lambda route: -route[0].call.count("/"))
        self.answered = 0
        self.ignored = 0
        self.client: mqtt.Client | None = None

    @property
    def subscriptions(self) -> list[str]:
        """One filter per version's call topic."""
        return [Topics.subscription(topics.call) for topics, _ in self.routes]

    def on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        """Parse one frame and publish the reply (or count it as ignored)."""
        found = self.route(message.topic)
        reply = self.reply_to(message.payload, found[2]) if found is not None else None
        if found is None or reply is None:
            self.ignored += 1
            return
        cid, topics, _ = found
        client.publish(topics.downstream.format(cid=cid), reply, qos=1)
        self.answered += 1

    def route(self, topic: str) -> tuple[str, Topics, Version] | None:
        """The charger id, topics and version of a call topic, None for a topic of no version."""
        for topics, version in self.routes:
            cid = Topics.cid(topics.call, topic)
            if cid is not None:
                return cid, topics, version
        return None

    @staticmethod
    def reply_to(raw: bytes | bytearray, version: Version = V16) -> bytes | None:
        """The encoded CallResult for a Call frame of ``version``, None for anything else."""
        try:
            frame: Any = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(frame, dict) or frame.get("MessageTypeId") != 2:
            return None
        payload = frame.get("Payload")
        if not isinstance(payload, dict):
            payload = {}
        result = version.csms_result(str(frame.get("Action")), payload)
        reply = {"MessageTypeId": 3, "UniqueId": frame.get("UniqueId"), "Payload": result}
        return json.dumps(reply, separators=(",", ":")).encode()


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--client-id", default=f"bench-responder-{os.getpid()}")
    args = parser.parse_args(argv)
    responder = Responder([(version.topics(), version) for version in VERSIONS.values() if version.enabled()])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    client = bench_mqtt.connect(args.url, args.client_id, responder.subscriptions, responder.on_message)
    print("responder ready", flush=True)
    stop.wait()
    bench_mqtt.close(client)
    print(f"responder answered={responder.answered} ignored={responder.ignored}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
