"""Loaded by pytest before Django's settings (``-p backoffice.pytest_env`` in pyproject.toml).

Gives the test run its own Celery queue and its own MQTT topic prefix, in this process and in
the bridge and worker processes the tests start, so that a broker or Redis shared with a running
``make run``, a benchmark or another test run never mixes their messages with ours.
"""

from __future__ import annotations

import os
import uuid

RUN_ID = os.environ.setdefault("CSMS_TEST_RUN_ID", uuid.uuid4().hex[:8])
TOPIC_PREFIX = f"test-{RUN_ID}/"

os.environ.setdefault("CSMS_CELERY_QUEUE", f"test-{RUN_ID}")
os.environ.setdefault("CSMS_TOPIC_CALL", TOPIC_PREFIX + "ocpp/cp/{cid}")
os.environ.setdefault("CSMS_TOPIC_REPLY", TOPIC_PREFIX + "ocpp/cp/{cid}/Reply")
os.environ.setdefault("CSMS_TOPIC_CALL_V201", TOPIC_PREFIX + "ocpp/v201/cp/{cid}")
os.environ.setdefault("CSMS_TOPIC_REPLY_V201", TOPIC_PREFIX + "ocpp/v201/cp/{cid}/Reply")
os.environ.setdefault("CSMS_TOPIC_CALL_V21", TOPIC_PREFIX + "ocpp/v21/cp/{cid}")
os.environ.setdefault("CSMS_TOPIC_REPLY_V21", TOPIC_PREFIX + "ocpp/v21/cp/{cid}/Reply")
os.environ.setdefault("CSMS_TOPIC_DOWNSTREAM", TOPIC_PREFIX + "ocpp/cs/{cid}")
# With AMQP_URL exported for the whole run, its bridges consume a queue of their own (the AMQP tests
# publish on exchanges or prefixes of their own).
os.environ.setdefault("CSMS_AMQP_QUEUE", f"test-{RUN_ID}.ocpp")
# Every test request comes from 127.0.0.1: one shared anonymous budget would make the suite's 429s depend
# on its order. The throttle's own tests set their rate.
os.environ.setdefault("CSMS_API_ANON_THROTTLE_RATE", "")
os.environ.setdefault(
    "CSMS_TOPIC_PRESENCE",
    ",".join(
        f"{TOPIC_PREFIX}$SYS/brokers/+/gateway/ocpp/clients/{{cid}}/{event}" for event in ("connected", "disconnected")
    ),
)
