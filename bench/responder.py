"""A bare responder: the transport ceiling, measured with the same load as the backoffice.

A minimal paho subscriber on the charger call topic that parses each frame and answers every
Call at once with a schema-plausible CallResult (``bench.replies.csms_result``), no database, no
Celery. Topics follow ``CSMS_TOPIC_CALL``/``CSMS_TOPIC_DOWNSTREAM`` like the backoffice's.
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
from bench.mqtt import DEFAULT_TOPICS, Topics, topics_from_env
from bench.replies import csms_result


class Responder:
    """Answers every Call on the call topic with a CallResult on the downstream topic."""

    def __init__(self, topics: Topics = DEFAULT_TOPICS) -> None:
        self.topics = topics
        self.answered = 0
        self.ignored = 0
        self.client: mqtt.Client | None = None

    def on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        """Parse one frame and publish the reply (or count it as ignored)."""
        cid = Topics.cid(self.topics.call, message.topic)
        reply = self.reply_to(message.payload)
        if cid is None or reply is None:
            self.ignored += 1
            return
        client.publish(self.topics.downstream.format(cid=cid), reply, qos=1)
        self.answered += 1

    @staticmethod
    def reply_to(raw: bytes | bytearray) -> bytes | None:
        """The encoded CallResult for a Call frame, None for anything else."""
        try:
            frame: Any = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(frame, dict) or frame.get("MessageTypeId") != 2:
            return None
        payload = frame.get("Payload")
        if not isinstance(payload, dict):
            payload = {}
        result = csms_result(str(frame.get("Action")), payload)
        reply = {"MessageTypeId": 3, "UniqueId": frame.get("UniqueId"), "Payload": result}
        return json.dumps(reply, separators=(",", ":")).encode()


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--client-id", default=f"bench-responder-{os.getpid()}")
    args = parser.parse_args(argv)
    responder = Responder(topics_from_env())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    client = bench_mqtt.connect(
        args.url, args.client_id, [Topics.subscription(responder.topics.call)], responder.on_message
    )
    print("responder ready", flush=True)
    stop.wait()
    bench_mqtt.close(client)
    print(f"responder answered={responder.answered} ignored={responder.ignored}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
