"""`make run`'s demo fleet, end to end under the default boot policy (pending).

Everything as `make run` runs it: the fleet command devstack starts (``devstack.demo_fleet_command``),
our gateway (``manage.py run_ocpp_gateway``), the broker, a bridge and a Celery worker, all on topics
and a queue of this test's own (the session's ``stack`` fixture answers with the boot policy
``accept``, which is exactly what must not help here).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections

from backoffice import devstack
from backoffice.celery import app as celery_app
from chargers.models import ChargePoint, Command, Connector, IdTag
from chargers.services import charge_point_registration_set
from conftest import Stack
from transactions.models import MeterValue, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class PendingStack(Stack):
    """A bridge and a worker with the default boot policy, plus our gateway and simulated chargers."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        run = uuid.uuid4().hex[:8]
        prefix = f"demo-{run}/"
        self.queue = f"demo-{run}"
        self.gateway_port = devstack.free_port()
        self.gateway_url = f"ws://127.0.0.1:{self.gateway_port}/ocpp"
        for name in ("CSMS_BOOT_POLICY", "CSMS_UNKNOWN_ID_TAG_POLICY", "CSMS_MAX_PAYLOAD_BYTES"):
            self.env.pop(name, None)  # the defaults, as on a fresh clone
        self.env.update(
            {
                "CSMS_CELERY_QUEUE": self.queue,
                "CSMS_TOPIC_CALL": prefix + "ocpp/cp/{cid}",
                "CSMS_TOPIC_REPLY": prefix + "ocpp/cp/{cid}/Reply",
                "CSMS_TOPIC_CALL_V201": prefix + "ocpp/v201/cp/{cid}",
                "CSMS_TOPIC_REPLY_V201": prefix + "ocpp/v201/cp/{cid}/Reply",
                "CSMS_TOPIC_DOWNSTREAM": prefix + "ocpp/cs/{cid}",
                "CSMS_TOPIC_PRESENCE": ",".join(
                    f"{prefix}$SYS/brokers/+/gateway/ocpp/clients/{{cid}}/{event}"
                    for event in ("connected", "disconnected")
                ),
                "CSMS_MQTT_CLIENT_ID": f"demo-bridge-{run}",
                "CSMS_GATEWAY_MQTT_CLIENT_ID": f"demo-gateway-{run}",
                "CSMS_GATEWAY_PORT": str(self.gateway_port),
                # A Pending charger retries after an hour: only the TriggerMessage can make it boot sooner.
                "CSMS_BOOT_RETRY_INTERVAL": "3600",
            }
        )
        self.others: list[subprocess.Popen[bytes]] = []

    def start_other(self, name: str, args: list[str]) -> None:
        self.others.append(self._spawn(name, args))

    def stop(self) -> None:
        for process in self.others:
            process.terminate()
        for process in self.others:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        super().stop()


@pytest.fixture
def pending_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PendingStack]:
    stack = PendingStack(tmp_path)
    # Commands this process queues (an operator's accept) are dispatched by that stack's worker.
    monkeypatch.setitem(celery_app.conf, "task_default_queue", stack.queue)
    stack.start_worker()
    stack.start_bridge()
    stack.start_other("gateway", [sys.executable, "manage.py", "run_ocpp_gateway"])
    try:
        wait_for(lambda: devstack.port_listening("127.0.0.1", stack.gateway_port), stack, timeout=60)
        yield stack
    finally:
        stack.drain()
        stack.stop()
        connections.close_all()


def wait_for(predicate: Callable[[], bool], stack: Stack, timeout: float) -> None:
    """Wait on a condition (generous timeouts: the machine is shared); fail with the logs."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time\n" + stack.logs())
        time.sleep(0.5)


@pytest.mark.timeout(420)
def test_make_runs_demo_fleet_charges_under_the_default_boot_policy(pending_stack: PendingStack) -> None:
    assert "CSMS_BOOT_POLICY" not in pending_stack.env  # the default: pending
    pending_stack.start_other("fleet", devstack.demo_fleet_command(sys.executable, pending_stack.gateway_url))

    # A session of a demo charger, with meter values: Authorize Accepted, StartTransaction, MeterValues.
    # The 1.6 chargers' (sim-...): the demo's 2.0.1 stations (sim201-...) charge too, but their connectors
    # say Occupied (2.0.1 has no Charging status) and one of them may well be the first with meter values.
    one_six = {"charge_point__demo": True, "charge_point__charge_point_id__startswith": "sim-"}
    wait_for(
        lambda: MeterValue.objects.filter(**{f"transaction__{k}": v for k, v in one_six.items()}).exists(),
        pending_stack,
        timeout=300,
    )

    fleet = ChargePoint.objects.filter(charge_point_id__startswith="sim-")
    assert fleet.count() == 10
    assert set(fleet.values_list("registration_status", "demo")) == {("Accepted", True)}
    assert IdTag.objects.filter(demo=True).count() == 5
    session = Transaction.objects.filter(**one_six, meter_values__isnull=False).first()
    assert session is not None and IdTag.objects.filter(id_tag=session.id_tag, demo=True).exists()
    assert Connector.objects.filter(**one_six, status="Charging").exists()


@pytest.mark.timeout(300)
def test_an_accepted_pending_charger_boots_again_at_once(pending_stack: PendingStack) -> None:
    # A charger nobody provisioned (it only has a gateway password): the boot policy holds it Pending.
    cid = f"real{uuid.uuid4().hex[:6]}-001"
    pending_stack.start_other(
        "charger",
        [
            sys.executable,
            "manage.py",
            "simulate_fleet",
            "--chargers",
            "1",
            "--prefix",
            cid[:-3],
            "--idle",
            "--url",
            pending_stack.gateway_url,
        ],
    )
    wait_for(
        lambda: ChargePoint.objects.filter(charge_point_id=cid, last_boot_at__isnull=False, online=True).exists(),
        pending_stack,
        timeout=120,
    )
    charge_point = ChargePoint.objects.get(charge_point_id=cid)
    assert (charge_point.registration_status, charge_point.demo) == ("Pending", False)
    assert not Connector.objects.filter(charge_point=charge_point).exists()  # a Pending charger waits

    charge_point_registration_set(charge_point=charge_point, status="Accepted")

    # Its retry is an hour away: the TriggerMessage BootNotification makes it boot, and, Accepted, report
    # its connectors, now.
    reported = Connector.objects.filter(charge_point=charge_point, connector_id__in=[1, 2])
    wait_for(lambda: reported.count() == 2, pending_stack, timeout=120)
    trigger = Command.objects.get(charge_point=charge_point, action="TriggerMessage")
    assert trigger.request == {"requestedMessage": "BootNotification"}
    assert trigger.status == Command.Status.ACCEPTED
