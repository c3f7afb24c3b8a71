"""``python -m bench --smoke`` end to end: real broker, real bridge and worker, zero lost replies.

The benchmark runs as a separate process against the test database and its own Celery queue.
No timing is asserted: only that every Call of every scenario was answered, by the backoffice and
by the bare responder, in both OCPP versions (2.0.1 on its own route) and over AMQP (the RabbitMQ
Web OCPP plugin's path; without a reachable RabbitMQ at AMQP_URL that scenario is skipped with a
note naming it), and that the version and transport comparisons were made.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings

from bench import amqp as bench_amqp

ROOT = Path(__file__).resolve().parents[2]
BRIDGE_COMMAND = ROOT / "mqtt_bridge" / "management" / "commands" / "run_mqtt_bridge.py"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not BRIDGE_COMMAND.exists(), reason="manage.py run_mqtt_bridge does not exist yet"),
]


def smoke_database_url() -> str:
    """DATABASE_URL of the database pytest-django set up."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{quote(db['HOST'] or '', safe='')}{port}/{db['NAME']}"


@pytest.mark.timeout(600)
def test_smoke_run_loses_no_reply(django_db_setup: None, tmp_path: Path) -> None:
    output = tmp_path / "smoke.json"
    env = {
        **os.environ,
        "DATABASE_URL": smoke_database_url(),
        "CSMS_CELERY_QUEUE": f"bench-smoke-{uuid.uuid4().hex[:8]}",
    }
    argv = [sys.executable, "-m", "bench", "--smoke", "--output", str(output)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    document: dict[str, Any] = json.loads(output.read_text())
    assert set(document["results"]) == {"backoffice", "ceiling"}, document["notes"]
    amqp_problem = bench_amqp.unreachable(bench_amqp.url_from_env())
    expected = ["closed", "closed-v201", "open", "storm"]
    if amqp_problem:
        assert any(note.startswith("closed-amqp skipped: no RabbitMQ at AMQP_URL=") for note in document["notes"])
    else:
        expected.insert(2, "closed-amqp")
        assert [row["transport"] for row in document["transports"]["rows"]] == ["mqtt", "amqp"]
    for target, scenarios in document["results"].items():
        assert [s["scenario"] for s in scenarios] == expected
        for scenario in scenarios:
            assert scenario["lost"] == 0, (target, scenario)
            assert scenario["replies"] == scenario["calls"] > 0, (target, scenario)
            # Whatever the backoffice answers, a CallResult of it passes the version's response schema.
            assert scenario["invalid_replies"] == 0, (target, scenario)
    v201 = {target: scenarios[1] for target, scenarios in document["results"].items()}
    assert v201["ceiling"]["ocpp_version"] == "2.0.1" and v201["ceiling"]["call_errors"] == 0
    assert {"TransactionEvent", "MeterValues"} <= set(v201["ceiling"]["by_action"])
    assert [row["version"] for row in document["versions"]["rows"]] == ["1.6", "2.0.1"]
    assert document["versions"]["ratio_of_ratios"] is not None
