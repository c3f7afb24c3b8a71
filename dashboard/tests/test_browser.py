"""The dashboard in real headless Chromium, live over the real stack.

uvicorn serves ``backoffice.asgi:application`` (HTTP and websockets) against the test database; the
root conftest's ``stack`` runs a bridge and a Celery worker, and ``gateway`` publishes frames on the
broker exactly as a gateway does. Nothing is mocked: a StatusNotification published on MQTT must
change the open page, and a command button must go queued -> sent -> accepted as the charger answers.
Screenshots of every page go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from chargers.models import ChargePoint, Command, IdTag, RegistrationStatus
from conftest import RUN_ID, GatewayClient, Stack, unique_cid
from transactions.models import Transaction

from . import factories as f
from .conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOW = "2026-11-23T10:00:00Z"
# The promise: a message on MQTT changes the open page within a second.
LIVE_WITHIN_MS = 1000


def ensure_browser() -> None:
    """Install Debian's chromium through the project's script; skip only where apt-get cannot."""
    script = Path(__file__).with_name("ensure_browser.sh")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)
    if result.returncode == 3:
        pytest.skip(f"no Chromium and apt-get cannot install it here: {result.stderr.strip()}")
    assert result.returncode == 0, f"ensure_browser.sh failed:\n{result.stdout}\n{result.stderr}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebServer:
    """uvicorn serving the ASGI application as a child process, with the stack's environment."""

    def __init__(self, stack: Stack) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = stack.tmp / f"web-{self.port}.log"
        env = {
            **stack.env,
            # DEBUG serves the static files from the apps (WhiteNoise finders), as `make run` does.
            "DJANGO_DEBUG": "true",
            "CSMS_MQTT_CLIENT_ID": f"test-web-{RUN_ID}",
        }
        args = [sys.executable, "-m", "uvicorn", "backoffice.asgi:application", "--host", "127.0.0.1"]
        args += ["--port", str(self.port), "--log-level", "warning"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/login/", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("uvicorn did not start:\n" + self.log())
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[WebServer]:
    server = WebServer(stack)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    ensure_browser()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread for as long as it runs; the ORM
    # calls between browser steps (and the database flush after each test) are plain synchronous
    # code all the same.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium: Any, web: WebServer, operator: User) -> Iterator[Any]:
    """A logged-in page (through the login form) at a laptop size."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, base_url=web.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto("/")
    assert "/login/" in tab.url
    tab.get_by_label("Username").fill(operator.username)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.screenshot(path=str(ARTIFACTS / "login.png"))
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_url(f"{web.url}/")
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}\n{web.log()}"


def wait_live(tab: Any) -> None:
    tab.locator('#live-status[data-state="live"]').wait_for()


CONFIGURATION = {
    "configurationKey": [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        {"key": "NumberOfConnectors", "readonly": True, "value": "1"},
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"},
    ]
}


def boot(gateway: GatewayClient, cid: str, *connectors: str) -> None:
    """Boot a charger (accepted: the stack's policy) and answer the GetConfiguration that follows."""
    reply = gateway.call(cid, "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "Fast-22"})
    assert reply["Payload"]["status"] == "Accepted"
    call = gateway.next_call(cid)
    assert call["Action"] == "GetConfiguration"
    gateway.answer(cid, call["UniqueId"], CONFIGURATION)
    for number, status in enumerate(connectors, start=1):
        gateway.call(cid, "StatusNotification", {"connectorId": number, "status": status, "errorCode": "NoError"})


def test_fleet_badge_changes_live_when_a_status_notification_arrives(
    page: Any, stack: Stack, gateway: GatewayClient
) -> None:
    cid = unique_cid("BR")
    boot(gateway, cid, "Available", "Available")
    page.goto(f"/?q={cid}")
    wait_live(page)
    row = page.locator(f'tr[data-charge-point="{cid}"]')
    badge = row.locator('[data-connector="2"]')
    assert badge.inner_text() == "2: Available"
    page.evaluate("window.__notReloaded = true")
    page.screenshot(path=str(ARTIFACTS / "fleet.png"), full_page=True)

    started = time.monotonic()
    gateway.publish(
        cid,
        {
            "MessageTypeId": 2,
            "UniqueId": "status-1",
            "Action": "StatusNotification",
            "Payload": {"connectorId": 2, "status": "Faulted", "errorCode": "GroundFailure", "timestamp": NOW},
        },
    )
    row.locator('[data-connector="2"]:text-is("2: Faulted")').wait_for(timeout=5000)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert elapsed_ms < LIVE_WITHIN_MS, f"the page changed {elapsed_ms:.0f} ms after the MQTT message"
    assert row.locator("[data-state]").inner_text() == "Faulted"
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(ARTIFACTS / "fleet-after-status.png"), full_page=True)


def test_command_button_goes_from_queued_to_accepted_as_the_charger_answers(
    page: Any, stack: Stack, gateway: GatewayClient
) -> None:
    cid = unique_cid("BR")
    boot(gateway, cid, "Available")
    IdTag.objects.create(id_tag="CARD-BR")
    start = gateway.call(
        cid, "StartTransaction", {"connectorId": 1, "idTag": "CARD-BR", "meterStart": 0, "timestamp": NOW}
    )
    tx_id = start["Payload"]["transactionId"]
    gateway.call(cid, "StatusNotification", {"connectorId": 1, "status": "Charging", "errorCode": "NoError"})
    meter_values(gateway, cid, tx_id, "2026-11-23T10:01:00Z", watts=7000, wh=100)
    meter_values(gateway, cid, tx_id, "2026-11-23T10:02:00Z", watts=7400, wh=220)
    # The charger drops off (the watchdog's verdict): a command waits queued until it is back.
    ChargePoint.objects.filter(charge_point_id=cid).update(online=False)

    page.goto(f"/chargers/{cid}/")
    wait_live(page)
    assert page.locator("#charger-sessions [data-power]").inner_text() == "7.4 kW"
    page.evaluate("window.__notReloaded = true")

    # Live power: a new MeterValues moves the number and the chart without a reload.
    meter_values(gateway, cid, tx_id, "2026-11-23T10:03:00Z", watts=11000, wh=400)
    page.locator('#charger-sessions [data-power]:text-is("11.0 kW")').wait_for(timeout=3000)
    assert page.locator("#charger-sessions .chart .uplot").count() == 1
    assert "MeterValueSampleInterval" in page.locator("#charger-configuration").inner_text()
    page.screenshot(path=str(ARTIFACTS / "charger.png"), full_page=True)

    ChargePoint.objects.filter(charge_point_id=cid).update(online=False)
    page.get_by_role("button", name="Soft reset").click()
    row = page.locator('#charger-commands tr[data-action="Reset"]')
    row.locator('[data-status]:text-is("queued")').wait_for()
    assert "Reset queued" in page.locator("#command-feedback").inner_text()
    command = Command.objects.get(charge_point__charge_point_id=cid, action="Reset")
    assert command.request == {"type": "Soft"} and command.requested_by == "operator"

    # The charger speaks again: its queued command goes out, and the page follows it.
    gateway.call(cid, "Heartbeat", {})
    call = gateway.next_call(cid)
    assert call["Action"] == "Reset" and call["Payload"] == {"type": "Soft"}
    row.locator('[data-status]:text-is("sent")').wait_for(timeout=3000)
    gateway.answer(cid, call["UniqueId"], {"status": "Accepted"})
    row.locator('[data-status]:text-is("accepted")').wait_for(timeout=3000)
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(ARTIFACTS / "charger-command-accepted.png"), full_page=True)

    # The session pages: list, and detail with its chart.
    page.goto("/sessions/")
    page.locator(f'tr[data-transaction="{tx_id}"]').wait_for()
    page.screenshot(path=str(ARTIFACTS / "sessions.png"), full_page=True)
    page.goto(f"/sessions/{tx_id}/")
    assert page.locator("#session-summary [data-energy]").inner_text() == "0.40 kWh"
    page.locator("#session-summary .chart .uplot").wait_for()
    page.screenshot(path=str(ARTIFACTS / "session.png"), full_page=True)
    assert Transaction.objects.get(pk=tx_id).stopped_at is None


def meter_values(gateway: GatewayClient, cid: str, tx_id: int, at: str, *, watts: float, wh: float) -> None:
    sampled = [
        {"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"},
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
    ]
    payload = {"connectorId": 1, "transactionId": tx_id, "meterValue": [{"timestamp": at, "sampledValue": sampled}]}
    gateway.call(cid, "MeterValues", payload)


def test_pending_charger_is_accepted_from_the_page_and_works_on_a_tablet(page: Any, web: WebServer) -> None:
    cid = unique_cid("PEND")
    f.charger(cid, registration=RegistrationStatus.PENDING, statuses=())
    page.set_viewport_size({"width": 768, "height": 1024})  # a portrait tablet
    page.goto("/pending/")
    wait_live(page)
    page.screenshot(path=str(ARTIFACTS / "pending-tablet.png"), full_page=True)
    page.get_by_role("button", name=f"Accept {cid}").click()
    page.wait_for_url("**/pending/?status=Pending")
    assert ChargePoint.objects.get(charge_point_id=cid).registration_status == RegistrationStatus.ACCEPTED
    assert page.locator(f'tr[data-charge-point="{cid}"]').count() == 0
    # Nothing wider than the screen but the tables' own scroll boxes.
    page.goto("/")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.screenshot(path=str(ARTIFACTS / "fleet-tablet.png"), full_page=True)
