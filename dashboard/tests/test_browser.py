"""The dashboard in real headless Chromium, live over the real stack.

uvicorn serves ``backoffice.asgi:application`` (HTTP and websockets) against the test database; the
root conftest's ``stack`` runs a bridge and a Celery worker, and ``gateway`` publishes frames on the
broker exactly as a gateway does. Nothing is mocked: a StatusNotification published on MQTT must
change the open page, and a command button must go queued -> sent -> accepted as the charger answers.
Screenshots of every page go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from chargers.models import ChargePoint, Command, ConfigurationKey, IdTag, RegistrationStatus
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
    # A browser far from the server's zone (UTC): the dashboard must print the server's times, not local ones.
    context = chromium.new_context(
        viewport={"width": 1366, "height": 900}, base_url=web.url, timezone_id="America/Los_Angeles", locale="en-US"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # Every request a page makes must find something (headless Chromium skips the favicon: it is
    # fetched explicitly in the id tag test).
    missing: list[str] = []
    tab.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
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
    assert not missing, f"404s: {missing}"


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
    # Every fragment the socket swaps in, in order (dashboard.js announces each one).
    page.evaluate(
        "window.__updates = [];document.addEventListener('dashboard:updated', e => window.__updates.push(e.detail.id))"
    )

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
    assert row.locator("[data-state]").inner_text() == "Faulted"
    # The change came over the socket, as swapped fragments (the counts too), not by a reload.
    # How fast is the benchmark's business (bench/), not this test's.
    assert page.evaluate("window.__notReloaded") is True
    page.locator('[data-count="faulted"]:text-is("1")').wait_for(timeout=5000)
    updates = page.evaluate("window.__updates")
    assert {"fleet-table", "fleet-counts"} <= set(updates), updates
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


# --- Chart axis and configuration table (issue 13) ------------------------------------------------------

AXIS_FONT = "12px system-ui, sans-serif"  # dashboard.js draws the axes with it

# The x axis as uPlot drew it on its canvas: each label, its centre and its width in CSS pixels.
READ_X_AXIS = """([selector, font]) => {
  const u = document.querySelector(selector).uplot, axis = u.axes[0];
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = font;
  const ys = s => u.series[s].scale;
  return {
    labels: axis._values,
    centres: axis._splits.map(v => u.valToPos(v, "x")),
    widths: axis._values.map(t => ctx.measureText(t).width),
    series: u.series.slice(1).map(s => ({label: s.label, scale: s.scale, stroke: s.stroke(u, 1)})),
    axes: u.axes.slice(1).map(a => ({scale: a.scale, side: a.side, label: a.label})),
    gaps: u.data[0].map((x, i) => Math.abs(u.valToPos(u.data[1][i], ys(1)) - u.valToPos(u.data[2][i], ys(2)))),
  };
}"""


def chart_session(cp: ChargePoint, *, start: datetime, seconds: int, step: int) -> Transaction:
    """A session with power (7.4 kW) and energy samples every ``step`` seconds for ``seconds``."""
    tx = f.session(cp, started_at=start, minutes=0, meter_start=0)
    for offset in range(0, seconds + 1, step):
        at = start + timedelta(seconds=offset)
        f.sample(tx, at=at, measurand="Power.Active.Import", value=7400, unit="W")
        f.sample(tx, at=at, measurand="Energy.Active.Import.Register", value=7400 * offset / 3600, unit="Wh")
    return tx


def assert_axis_reads_24_hour_and_labels_do_not_touch(axis: dict, *, seconds: bool) -> None:
    labels = axis["labels"]
    assert len(labels) >= 3, labels
    pattern = r"^\d{2}:\d{2}:\d{2}$" if seconds else r"^\d{2}:\d{2}(:\d{2})?$"
    for label in labels:
        assert re.match(pattern, label), f"not a 24-hour time: {label!r} in {labels}"
    for i in range(len(labels) - 1):
        room = axis["centres"][i + 1] - axis["centres"][i]
        needed = (axis["widths"][i] + axis["widths"][i + 1]) / 2 + 4
        assert room >= needed, f"{labels[i]!r} and {labels[i + 1]!r} overlap: {room:.0f} px < {needed:.0f} px"


@pytest.mark.parametrize("width", [1400, 800])
def test_session_chart_time_axis_is_24_hour_in_the_pages_zone_and_its_labels_do_not_overlap(
    page: Any, width: int
) -> None:
    """Regression: `12/1/26 6:27am6:28am` (two labels run together, 12-hour, the browser's zone) and,
    on a 7-second session, ticks every 200 ms (`:28.000 :28.200`)."""
    page.set_viewport_size({"width": width, "height": 900})
    cp = f.charger(unique_cid("CHART"), statuses=("Charging",))
    # 18:27 UTC: 6:27pm for a 12-hour axis, 10:27 in the browser's own zone (Los Angeles).
    short = chart_session(cp, start=datetime(2026, 11, 23, 18, 27, 21, tzinfo=UTC), seconds=7, step=1)
    long = chart_session(cp, start=datetime(2026, 11, 23, 13, 5, 0, tzinfo=UTC), seconds=2 * 3600, step=300)

    page.goto(f"/sessions/{short.pk}/")
    wait_live(page)
    chart = page.locator("#session-summary .chart")
    chart.locator(".uplot").wait_for()
    axis = page.evaluate(READ_X_AXIS, ["#session-summary .chart", AXIS_FONT])
    assert_axis_reads_24_hour_and_labels_do_not_touch(axis, seconds=True)
    assert all(label.startswith("18:27:") for label in axis["labels"]), axis["labels"]
    chart.screenshot(path=str(ARTIFACTS / f"chart-7-seconds-{width}.png"))

    # Power and energy: two scales, two axes (left and right), two colours, and apart on the plot.
    assert [(s["label"], s["scale"]) for s in axis["series"]] == [("Energy", "kWh"), ("Power", "kW")]
    assert axis["series"][0]["stroke"] != axis["series"][1]["stroke"]
    assert [(a["scale"], a["side"]) for a in axis["axes"]] == [("kW", 3), ("kWh", 1)]
    assert axis["gaps"][0] > 10 and axis["gaps"][-1] > 10, axis["gaps"]

    page.goto(f"/sessions/{long.pk}/")
    wait_live(page)
    chart = page.locator("#session-summary .chart")
    chart.locator(".uplot").wait_for()
    axis = page.evaluate(READ_X_AXIS, ["#session-summary .chart", AXIS_FONT])
    assert_axis_reads_24_hour_and_labels_do_not_touch(axis, seconds=False)
    hours = {int(label[:2]) for label in axis["labels"]}
    assert hours <= {13, 14, 15} and 14 in hours, axis["labels"]  # UTC, 24-hour: not 1 pm, not 06:00 local
    page.screenshot(path=str(ARTIFACTS / f"session-chart-2-hours-{width}.png"), full_page=True)


LONG_VALUE = "wss://csms.example.com:8443/ocpp/v16/" + "segment-without-spaces-" * 8 + "END"


@pytest.mark.parametrize("width", [1400, 800])
def test_configuration_table_fits_its_card_with_the_read_only_column_visible(page: Any, width: int) -> None:
    """Regression: a long value pushed the table past its card, cutting values and hiding Read-only."""
    page.set_viewport_size({"width": width, "height": 1000})
    cp = f.charger(unique_cid("CONF"), statuses=("Available",))
    now = datetime.now(UTC)
    keys = {
        "CentralSystemUrlForTheBackupConnectionProfile": (LONG_VALUE, True),
        "HeartbeatInterval": ("300", False),
        "MeterValuesSampledData": ("Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage", False),
        "SupportedFeatureProfiles": ("Core,FirmwareManagement,LocalAuthListManagement,Reservation", True),
    }
    for key, (value, readonly) in keys.items():
        ConfigurationKey.objects.create(charge_point=cp, key=key, value=value, readonly=readonly, updated_at=now)

    page.goto(f"/chargers/{cp.charge_point_id}/")
    card = page.locator("#charger-configuration")
    card.locator("table").wait_for()
    wait_live(page)
    # Found and measured in one synchronous run: a live push may swap the card in between two steps.
    geometry = page.evaluate(
        """() => {
          const card = document.getElementById("charger-configuration");
          const wrap = card.querySelector(".table-wrap"), table = wrap.querySelector("table");
          const box = card.getBoundingClientRect();
          const ro = [...table.querySelectorAll("thead th")].find(th => th.textContent.trim() === "Read-only");
          const roBox = ro.getBoundingClientRect();
          const cut = [...table.querySelectorAll("tbody th, tbody td, tbody code")]
            .filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent.slice(0, 40));
          return {
            tableScroll: table.scrollWidth, wrapWidth: wrap.clientWidth,
            cardLeft: box.left, cardRight: box.right, roLeft: roBox.left, roRight: roBox.right,
            readonly: [...table.querySelectorAll("tbody td[data-readonly]")].map(td => td.textContent.trim()),
            cut: cut,
            pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          };
        }"""
    )
    card.screenshot(path=str(ARTIFACTS / f"configuration-{width}.png"))
    page.screenshot(path=str(ARTIFACTS / f"charger-configuration-page-{width}.png"), full_page=True)
    assert geometry["tableScroll"] <= geometry["wrapWidth"] + 1, geometry
    assert geometry["cardLeft"] < geometry["roLeft"] < geometry["roRight"] <= geometry["cardRight"], geometry
    assert geometry["readonly"] == ["yes", "no", "no", "yes"], geometry
    assert geometry["cut"] == [], geometry
    assert geometry["pageOverflow"] <= 0, geometry
    assert LONG_VALUE in card.inner_text().replace("\n", "")


def test_remote_start_banner_follows_the_command_to_rejected(page: Any, stack: Stack, gateway: GatewayClient) -> None:
    """Regression: the green "queued" banner stayed after the charger rejected the remote start."""
    cid = unique_cid("BAN")
    boot(gateway, cid, "Available")
    page.goto(f"/chargers/{cid}/")
    wait_live(page)
    page.get_by_label("Id tag").fill("CARD-NO")
    page.get_by_role("button", name="Start charging").click()
    banner = page.locator("#command-feedback")
    banner.locator(':scope:text-matches("RemoteStartTransaction (queued|sent)")').wait_for()
    assert banner.get_attribute("data-state") == "pending"  # not a success yet: not green

    call = gateway.next_call(cid)
    assert call["Action"] == "RemoteStartTransaction" and call["Payload"]["idTag"] == "CARD-NO"
    gateway.answer(cid, call["UniqueId"], {"status": "Rejected"})
    page.locator('#command-feedback[data-state="error"]').wait_for(timeout=5000)
    assert banner.inner_text().startswith("RemoteStartTransaction rejected")
    assert "Rejected" in banner.inner_text()  # the charger's answer, as the command list shows it
    page.screenshot(path=str(ARTIFACTS / "charger-remote-start-rejected.png"), full_page=True)
    assert Command.objects.get(charge_point__charge_point_id=cid, action="RemoteStartTransaction").status == "rejected"


def test_accept_selected_on_the_pending_page(page: Any) -> None:
    cids = [unique_cid("SEL") for _ in range(3)]
    for cid in cids:
        f.charger(cid, registration=RegistrationStatus.PENDING, statuses=())
    page.goto("/pending/")
    wait_live(page)
    page.get_by_label(f"Select {cids[0]}").check()
    page.get_by_label(f"Select {cids[2]}").check()
    page.screenshot(path=str(ARTIFACTS / "pending-selected.png"), full_page=True)
    page.get_by_role("button", name="Accept selected").click()
    page.wait_for_url("**/pending/?status=Pending")
    assert "Accepted 2 chargers" in page.locator(".flash").inner_text()
    statuses = dict(
        ChargePoint.objects.filter(charge_point_id__in=cids).values_list("charge_point_id", "registration_status")
    )
    assert statuses == {cids[0]: "Accepted", cids[1]: "Pending", cids[2]: "Accepted"}


def test_id_tags_are_added_blocked_and_expired_from_their_page(page: Any) -> None:
    tag = unique_cid("T")[:20]
    page.get_by_role("link", name="Id tags").click()
    page.wait_for_url("**/id-tags/")
    page.get_by_label("Id tag", exact=True).fill(tag)
    page.get_by_label("Note").fill("van 3")
    page.get_by_role("button", name="Add id tag").click()
    row = page.locator(f'tr[data-id-tag="{tag}"]')
    row.locator('[data-status]:text-is("Accepted")').wait_for()
    page.get_by_role("button", name=f"Block {tag}").click()
    row.locator('[data-status]:text-is("Blocked")').wait_for()
    page.get_by_role("button", name=f"Unblock {tag}").click()
    page.get_by_role("button", name=f"Expire {tag}").click()
    row.locator('[data-status]:text-is("Expired")').wait_for()
    page.screenshot(path=str(ARTIFACTS / "id-tags.png"), full_page=True)
    saved = IdTag.objects.get(id_tag=tag)
    assert (saved.status, saved.note) == ("Accepted", "van 3") and saved.expiry_date is not None
    # /favicon.ico was a 404 on every page.
    assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200
