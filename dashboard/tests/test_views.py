"""The dashboard's pages: login required, what they show, their filters, and a fixed query count."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from chargers.models import ChargePoint, Command, ConfigurationKey, Connector, IdTag, RegistrationStatus
from chargers.services import id_tag_authorize
from dashboard.panels import FLEET_PANELS
from transactions.models import MeterValue, Transaction

from . import factories as f

pytestmark = pytest.mark.django_db


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def found(pattern: str, text: str, group: int = 0) -> str:
    """The first match of ``pattern`` in ``text`` (``.`` matches newlines); the test fails when there is none."""
    match = re.search(pattern, text, re.S)
    assert match is not None, f"{pattern!r} is not on the page"
    return match.group(group)


@pytest.mark.parametrize(
    "url",
    ["/", "/chargers/CP-1/", "/sessions/", "/sessions/1/", "/pending/", "/id-tags/"],
)
def test_pages_redirect_anonymous_to_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('dashboard:login')}?next=")


def test_posts_redirect_anonymous_to_login(client: Client) -> None:
    cp = f.charger("CP-ANON", registration=RegistrationStatus.PENDING)
    assert client.post(f"/chargers/{cp.charge_point_id}/registration/", {"status": "Accepted"}).status_code == 302
    assert (
        client.post(f"/chargers/{cp.charge_point_id}/commands/", {"action": "Reset", "reset_type": "Soft"}).status_code
        == 302
    )
    assert client.post("/pending/accept/", {"scope": "all", "status": "Pending"}).status_code == 302
    IdTag.objects.create(id_tag="ANON-1")
    assert client.post("/id-tags/", {"id_tag": "ANON-2"}).status_code == 302
    assert client.post("/id-tags/ANON-1/", {"action": "block"}).status_code == 302
    cp.refresh_from_db()
    assert cp.registration_status == RegistrationStatus.PENDING
    assert not Command.objects.exists()
    assert list(IdTag.objects.values_list("id_tag", "status")) == [("ANON-1", "Accepted")]


def test_login_page_logs_in_and_lands_on_the_fleet(client: Client, operator: User) -> None:
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'<label for="id_username">' in page.content
    response = client.post("/login/", {"username": "operator", "password": "operator-password-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_fleet_counts_and_badges(operator_client: Client) -> None:
    f.charger("CP-AVAIL", statuses=("Available", "Available"))
    f.charger("CP-CHARGE", statuses=("Charging", "Available"))
    f.charger("CP-FAULT", statuses=("Faulted", "Charging"))
    f.charger("CP-OFF", online=False, statuses=("Unavailable",))
    f.charger("CP-NEW", registration=RegistrationStatus.PENDING, statuses=())
    f.charger("CP-GONE", online=False, statuses=("Available",))  # offline: not available to drivers

    html = operator_client.get("/").content.decode()

    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', html))
    assert counts == {"online": "4", "offline": "2", "available": "1", "charging": "1", "faulted": "1", "pending": "1"}
    row = found(r'data-charge-point="CP-FAULT">.*?</tr>', html)
    assert 'class="badge bad" data-state>Faulted<' in row
    assert 'data-connector="1"' in row and "1: Faulted" in row and "2: Charging" in row
    assert 'class="badge muted" data-online>Offline<' in found(r'data-charge-point="CP-OFF">.*?</tr>', html)
    assert 'data-live="/ws/fleet/"' in html


def test_fleet_power_is_the_latest_power_sample_of_active_sessions(operator_client: Client) -> None:
    cp = f.charger("CP-POWER", statuses=("Charging", "Charging"))
    f.charging_session(cp, watts=7400, energy_wh=2000)
    # A second connector reporting per phase in kW, with no total: the phases are summed.
    tx = f.session(cp, connector_id=2)
    at = timezone.now()
    for phase in ("L1", "L2", "L3"):
        f.sample(tx, at=at - timedelta(minutes=1), measurand="Power.Active.Import", value=9.0, unit="kW", phase=phase)
        f.sample(tx, at=at, measurand="Power.Active.Import", value=1.0, unit="kW", phase=phase)
    # A finished session's power is not current.
    done = f.session(cp, connector_id=1, meter_stop=5000, started_at=at - timedelta(days=1))
    f.sample(done, at=at - timedelta(days=1), measurand="Power.Active.Import", value=50000, unit="W")

    html = operator_client.get("/").content.decode()
    row = found(r'data-charge-point="CP-POWER">.*?</tr>', html)
    assert '<td class="num" data-power>10.4 kW</td>' in row


def test_fleet_search_and_filters(operator_client: Client) -> None:
    f.charger("ALPHA-1", vendor="Zeta")
    f.charger("BETA-2", statuses=("Faulted",))
    f.charger("GAMMA-3", online=False)
    f.charger("DELTA-4", registration=RegistrationStatus.REJECTED)

    def ids(query: str) -> list[str]:
        html = operator_client.get("/" + query).content.decode()
        return re.findall(r'<tr id="cp-\d+" data-charge-point="([^"]+)"', html)

    assert ids("") == ["ALPHA-1", "BETA-2", "DELTA-4", "GAMMA-3"]
    assert ids("?q=beta") == ["BETA-2"]
    assert ids("?q=zeta") == ["ALPHA-1"]  # vendor
    assert ids("?state=faulted") == ["BETA-2"]
    assert ids("?online=no") == ["GAMMA-3"]
    assert ids("?registration=Rejected") == ["DELTA-4"]
    assert ids("?state=nonsense&online=maybe") == ["ALPHA-1", "BETA-2", "DELTA-4", "GAMMA-3"]


def test_fleet_paginates_with_the_filters_kept(operator_client: Client) -> None:
    for i in range(120):
        f.charger(f"PG-{i:04d}")
    html = operator_client.get("/?q=PG").content.decode()
    assert html.count('data-charge-point="PG-') == 50
    assert "Page 1 of 3" in html
    assert 'href="?q=PG&amp;page=2"' in html
    last = operator_client.get("/?q=PG&page=3").content.decode()
    assert last.count('data-charge-point="PG-') == 20
    assert 'data-charge-point="PG-0119"' in last


def test_fleet_query_count_does_not_grow_with_the_fleet(operator_client: Client) -> None:
    for _ in range(3):
        f.charging_session(f.charger(statuses=("Charging",)), watts=1000, energy_wh=10)
    small = queries(operator_client, "/")
    for _ in range(120):
        f.charging_session(f.charger(statuses=("Charging", "Faulted")), watts=1000, energy_wh=10)
    assert queries(operator_client, "/") == small
    # session + user + the fleet: counts, page count, rows, connectors, power; each fleet panel (the
    # operator alerts) at most two of its own (its rows and their count), whatever the fleet's size
    assert small <= 7 + 2 * len(FLEET_PANELS)


def test_charger_detail_shows_identity_connectors_session_messages_commands_configuration(
    operator_client: Client,
) -> None:
    cp = f.charger("CP-DETAIL", statuses=("Charging", "Available"))
    cp.firmware_version = "4.2.0"
    cp.save()
    tx = f.charging_session(cp, watts=11000, energy_wh=3500)
    f.message(cp, "StatusNotification", {"connectorId": 1, "status": "Charging"})
    f.answered_command(
        cp,
        "GetConfiguration",
        {},
        {
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
            ],
            "unknownKey": ["Foo"],
        },
    )

    response = operator_client.get("/chargers/CP-DETAIL/")
    html = response.content.decode()

    assert "4.2.0" in html and "ACME" in html
    assert 'data-live="/ws/chargers/CP-DETAIL/"' in html
    assert re.search(r'data-connector="1">.*?data-status>Charging<', html, re.S)
    assert f'href="/sessions/{tx.pk}/"' in html
    assert "<dd data-power>11.0 kW</dd>" in html and "<dd data-energy>3.50 kWh</dd>" in html
    series = json.loads(found(r'data-series="([^"]+)"', html, group=1).replace("&quot;", '"'))
    assert len(series["x"]) == 3 and series["power"][-1] == 11.0 and series["energy"][-1] == 3.5
    assert "StatusNotification" in html
    assert "HeartbeatInterval" in html and "NumberOfConnectors" in html and "Unknown keys: Foo" in html
    assert re.search(r'data-action="GetConfiguration">.*?data-status>accepted<', html, re.S)
    for label in (
        "Start charging",
        "Soft reset",
        "Hard reset",
        "Unlock",
        "Make operative",
        "Trigger",
        f"Stop session #{tx.pk}",
    ):
        assert label in html
    assert '<label for="rs-tag">Id tag</label>' in html


def test_configuration_comes_from_the_stored_keys_when_there_are_some(operator_client: Client) -> None:
    cp = f.charger("CP-CONF")
    f.answered_command(cp, "GetConfiguration", {}, {"configurationKey": [{"key": "Old", "value": "1"}]})
    ConfigurationKey.objects.create(
        charge_point=cp, key="MeterValueSampleInterval", value="30", updated_at=timezone.now()
    )
    html = operator_client.get("/chargers/CP-CONF/").content.decode()
    section = found(r'id="charger-configuration".*?</section>', html)
    assert "MeterValueSampleInterval" in section and "<code>30</code>" in section
    assert "Old" not in section


def test_charger_detail_query_count_does_not_grow_with_history(operator_client: Client) -> None:
    cp = f.charger("CP-Q", statuses=("Charging",))
    f.charging_session(cp, watts=1000, energy_wh=100)
    small = queries(operator_client, "/chargers/CP-Q/")
    for i in range(40):
        f.message(cp, "Heartbeat", {})
        f.answered_command(cp, "TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
        f.session(cp, connector_id=1, meter_stop=2000, started_at=timezone.now() - timedelta(days=i + 1))
    assert queries(operator_client, "/chargers/CP-Q/") == small


def test_unknown_charger_is_404(operator_client: Client) -> None:
    assert operator_client.get("/chargers/NOPE/").status_code == 404
    assert operator_client.get("/sessions/999999/").status_code == 404


def test_command_button_queues_the_command_and_answers_with_the_command_list(operator_client: Client) -> None:
    cp = f.charger("CP-CMD", statuses=("Available",))
    response = operator_client.post(
        "/chargers/CP-CMD/commands/",
        {"action": "Reset", "reset_type": "Hard"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    command = Command.objects.get(pk=body["command_id"])
    assert (command.charge_point, command.action, command.request) == (cp, "Reset", {"type": "Hard"})
    assert command.status == Command.Status.QUEUED
    assert command.requested_by == "operator"
    assert body["message"] == "Reset queued" and body["action"] == "Reset"
    assert f'id="command-{command.pk}"' in body["fragments"]["charger-commands"]


@pytest.mark.parametrize(
    ("data", "payload"),
    [
        (
            {"action": "RemoteStartTransaction", "id_tag": "CARD-9", "connector_id": "1"},
            {"idTag": "CARD-9", "connectorId": 1},
        ),
        ({"action": "RemoteStartTransaction", "id_tag": "CARD-9"}, {"idTag": "CARD-9"}),
        ({"action": "UnlockConnector", "connector_id": "2"}, {"connectorId": 2}),
        (
            {"action": "ChangeAvailability", "connector_id": "0", "availability": "Inoperative"},
            {"connectorId": 0, "type": "Inoperative"},
        ),
        (
            {"action": "TriggerMessage", "requested_message": "StatusNotification", "connector_id": "1"},
            {"requestedMessage": "StatusNotification", "connectorId": 1},
        ),
        ({"action": "GetConfiguration"}, {}),
    ],
)
def test_each_command_button_sends_its_payload(operator_client: Client, data: dict, payload: dict) -> None:
    f.charger("CP-PAY", statuses=("Available", "Available"))
    response = operator_client.post("/chargers/CP-PAY/commands/", data)
    assert response.status_code == 302 and response["Location"] == "/chargers/CP-PAY/"
    command = Command.objects.get()
    assert (command.action, command.request) == (data["action"], payload)


def test_remote_stop_button_stops_the_active_session(operator_client: Client) -> None:
    cp = f.charger("CP-STOP", statuses=("Charging",))
    tx = f.charging_session(cp, watts=1, energy_wh=1)
    response = operator_client.post(
        "/chargers/CP-STOP/commands/",
        {"action": "RemoteStopTransaction", "transaction_id": str(tx.pk)},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 201, response.content
    assert Command.objects.get().request == {"transactionId": tx.pk}


def test_command_refused_shows_why_and_creates_nothing(operator_client: Client) -> None:
    f.charger("CP-REJ", registration=RegistrationStatus.REJECTED)
    response = operator_client.post(
        "/chargers/CP-REJ/commands/", {"action": "Reset", "reset_type": "Soft"}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 400
    assert "rejected" in response.json()["message"]
    missing = operator_client.post(
        "/chargers/CP-REJ/commands/", {"action": "RemoteStartTransaction"}, headers={"X-Requested-With": "fetch"}
    )
    assert missing.status_code == 400 and "id_tag" in missing.json()["message"]
    assert not Command.objects.exists()


def test_sessions_list_filters_and_shows_energy_and_duration(operator_client: Client) -> None:
    a = f.charger("CP-S1")
    b = f.charger("CP-S2")
    done = f.session(a, id_tag="TAG-A", meter_start=1000, meter_stop=13500, minutes=90)
    live = f.charging_session(b, watts=7000, energy_wh=2500)

    html = operator_client.get("/sessions/").content.decode()
    done_row = found(rf'data-transaction="{done.pk}">.*?</tr>', html)
    assert "12.50 kWh" in done_row and "1 h 30 min" in done_row
    live_row = found(rf'data-transaction="{live.pk}">.*?</tr>', html)
    assert "2.50 kWh" in live_row and "7.0 kW" in live_row and "In progress" in live_row

    def listed(query: str) -> set[int]:
        page = operator_client.get("/sessions/" + query).content.decode()
        return {int(pk) for pk in re.findall(r'<tr data-transaction="(\d+)"', page)}

    assert listed("?status=active") == {live.pk}
    assert listed("?status=completed") == {done.pk}
    assert listed("?charger=s2") == {live.pk}
    assert listed("?id_tag=tag-a") == {done.pk}
    today = timezone.now().date()
    assert listed(f"?started_from={today + timedelta(days=1)}") == set()
    assert listed(f"?started_to={today}") == {done.pk, live.pk}


def test_sessions_list_query_count_does_not_grow(operator_client: Client) -> None:
    cp = f.charger()
    f.charging_session(cp, watts=1, energy_wh=1)
    small = queries(operator_client, "/sessions/")
    for _ in range(60):
        f.charging_session(f.charger(), watts=1, energy_wh=1)
    assert queries(operator_client, "/sessions/") == small


def test_session_detail_shows_energy_duration_and_chart(operator_client: Client) -> None:
    cp = f.charger("CP-SD")
    tx = f.session(cp, meter_start=500, meter_stop=20500, minutes=45)
    f.sample(
        tx, at=tx.started_at + timedelta(minutes=5), measurand="Energy.Active.Import.Register", value=1.5, unit="kWh"
    )
    f.sample(tx, at=tx.started_at + timedelta(minutes=5), measurand="Power.Active.Import", value=11000, unit="W")
    html = operator_client.get(f"/sessions/{tx.pk}/").content.decode()
    assert "<dd data-energy>20.00 kWh</dd>" in html
    assert "<dd data-duration>45 min</dd>" in html
    assert "Completed" in html
    series = json.loads(found(r'data-series="([^"]+)"', html, group=1).replace("&quot;", '"'))
    assert series == {"x": [(tx.started_at + timedelta(minutes=5)).timestamp()], "power": [11.0], "energy": [1.0]}


def test_pending_page_lists_pending_chargers_and_accepts_and_rejects(operator_client: Client) -> None:
    f.charger("CP-P1", registration=RegistrationStatus.PENDING)
    f.charger("CP-P2", registration=RegistrationStatus.PENDING)
    f.charger("CP-OK")
    html = operator_client.get("/pending/").content.decode()
    assert 'data-charge-point="CP-P1"' in html and 'data-charge-point="CP-P2"' in html
    assert 'data-charge-point="CP-OK"' not in html
    assert 'aria-label="Accept CP-P1"' in html

    response = operator_client.post(
        "/chargers/CP-P1/registration/", {"status": "Accepted", "next": "/pending/?status=Pending"}
    )
    assert response.status_code == 302 and response["Location"] == "/pending/?status=Pending"
    operator_client.post("/chargers/CP-P2/registration/", {"status": "Rejected", "next": "https://evil.example/"})
    statuses = dict(ChargePoint.objects.values_list("charge_point_id", "registration_status"))
    assert statuses["CP-P1"] == "Accepted" and statuses["CP-P2"] == "Rejected"

    rejected = operator_client.get("/pending/?status=Rejected").content.decode()
    assert 'data-charge-point="CP-P2"' in rejected and 'data-charge-point="CP-P1"' not in rejected


def test_pending_query_count_does_not_grow(operator_client: Client) -> None:
    f.charger(registration=RegistrationStatus.PENDING)
    small = queries(operator_client, "/pending/")
    for _ in range(60):
        f.charger(registration=RegistrationStatus.PENDING)
    assert queries(operator_client, "/pending/") == small


def test_fleet_of_a_thousand_chargers_stays_one_quick_page(operator_client: Client) -> None:
    now = timezone.now()
    chargers = ChargePoint.objects.bulk_create(
        ChargePoint(charge_point_id=f"K-{i:04d}", registration_status="Accepted", online=i % 7 != 0, last_seen_at=now)
        for i in range(1000)
    )
    statuses = ("Available", "Charging", "Faulted", "Unavailable")
    Connector.objects.bulk_create(
        Connector(charge_point=cp, connector_id=n, status=statuses[(i + n) % 4])
        for i, cp in enumerate(chargers)
        for n in (1, 2)
    )
    sessions = Transaction.objects.bulk_create(
        Transaction(
            charge_point=cp,
            connector_id=1,
            id_tag="T",
            id_tag_status="Accepted",
            meter_start=0,
            started_at=now,
            start_received_at=now,
        )
        for cp in chargers[::3]
    )
    MeterValue.objects.bulk_create(
        MeterValue(
            charge_point_id=tx.charge_point_id,
            connector_id=1,
            transaction=tx,
            timestamp=now + timedelta(seconds=s),
            received_at=now,
            measurand="Power.Active.Import",
            unit="W",
            value="1",
            numeric_value=1000.0 * s,
        )
        for tx in sessions
        for s in range(5)
    )

    # Quick because its work is fixed: the same statements for page 1 and page 20, however many
    # chargers, sessions and samples there are (the time itself is the benchmark's to measure).
    with CaptureQueriesContext(connection) as first_page:
        html = operator_client.get("/").content.decode()

    assert html.count('<tr id="cp-') == 50 and "Page 1 of 20" in html
    assert re.search(r'data-count="online">857<', html)
    first = found(r'data-charge-point="K-0000">.*?</tr>', html)
    assert "4.0 kW" in first  # the newest of its five samples
    assert len(first_page.captured_queries) <= 7 + 2 * len(FLEET_PANELS)
    assert queries(operator_client, "/?page=20") == len(first_page.captured_queries)


def series_of(html: str) -> list[dict]:
    return [json.loads(raw.replace("&quot;", '"')) for raw in re.findall(r'data-series="([^"]+)"', html)]


def test_charger_with_two_current_sessions_draws_a_chart_for_each(operator_client: Client) -> None:
    """Regression: the one chart showed the newest session, empty while it had no sample yet."""
    cp = f.charger("CP-TWO", statuses=("Charging", "Charging", "Charging"))
    first = f.charging_session(cp, watts=7000, energy_wh=1000, samples=3)
    second = f.session(cp, connector_id=2, minutes=1)
    f.sample(second, at=timezone.now(), measurand="Power.Active.Import", value=3700, unit="W")
    waiting = f.session(cp, connector_id=3, minutes=0)  # the newest: no meter values yet

    html = operator_client.get("/chargers/CP-TWO/").content.decode()

    charts = series_of(html)
    assert [len(c["x"]) for c in charts] == [3, 1]
    assert charts[0]["power"][-1] == 7.0 and charts[1]["power"] == [3.7]
    blocks = dict(re.findall(r'data-session="(\d+)">(.*?)</div>\s*(?=<div class="session"|</section>)', html, re.S))
    assert 'class="chart"' in blocks[str(first.pk)] and 'class="chart"' in blocks[str(second.pk)]
    assert 'class="chart"' not in blocks[str(waiting.pk)] and "No meter values" in blocks[str(waiting.pk)]


def test_charts_carry_the_time_zone_the_page_prints_times_in(operator_client: Client, settings: Settings) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    cp = f.charger("CP-TZ", statuses=("Charging",))
    tx = f.charging_session(cp, watts=1000, energy_wh=100)
    assert 'data-tz="Europe/Berlin"' in operator_client.get("/chargers/CP-TZ/").content.decode()
    assert 'data-tz="Europe/Berlin"' in operator_client.get(f"/sessions/{tx.pk}/").content.decode()


def test_favicon_is_served_to_everyone_and_linked_from_every_page(client: Client, operator_client: Client) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert 'rel="icon" href="/favicon.ico"' in client.get("/login/").content.decode()
    assert 'rel="icon" href="/favicon.ico"' in operator_client.get("/").content.decode()


def test_navigation_leads_to_id_tags_api_docs_and_for_staff_the_admin(operator_client: Client, operator: User) -> None:
    nav = found(r'<nav aria-label="Main">.*?</nav>', operator_client.get("/").content.decode())
    assert 'href="/id-tags/"' in nav and 'href="/api/docs/"' in nav
    assert 'href="/admin/"' not in nav  # the admin would only ask a non-staff operator to log in again
    operator.is_staff = True
    operator.save()
    nav = found(r'<nav aria-label="Main">.*?</nav>', operator_client.get("/").content.decode())
    assert 'href="/admin/"' in nav


def test_configuration_table_has_fixed_columns_that_wrap(operator_client: Client) -> None:
    cp = f.charger("CP-WIDE")
    ConfigurationKey.objects.create(
        charge_point=cp, key="Url", value="x" * 300, readonly=True, updated_at=timezone.now()
    )
    section = found(
        r'id="charger-configuration".*?</section>', operator_client.get("/chargers/CP-WIDE/").content.decode()
    )
    assert 'class="compact config"' in section and '<col class="ro">' in section
    assert '<td class="ro" data-readonly>yes</td>' in section


# --- Pending: accept all / accept selected -------------------------------------------------------------


def registrations() -> dict[str, str]:
    return dict(ChargePoint.objects.values_list("charge_point_id", "registration_status"))


def boot_triggers() -> list[str]:
    return sorted(
        Command.objects.filter(action="TriggerMessage", request={"requestedMessage": "BootNotification"}).values_list(
            "charge_point__charge_point_id", flat=True
        )
    )


def test_pending_page_offers_accept_selected_and_accept_all(operator_client: Client) -> None:
    f.charger("CP-W1", registration=RegistrationStatus.PENDING)
    html = operator_client.get("/pending/").content.decode()
    assert 'id="pending-bulk"' in html and 'action="/pending/accept/"' in html
    assert 'name="charge_point_id" value="CP-W1" form="pending-bulk"' in html
    assert ">Accept selected<" in html and ">Accept all 1 pending<" in html
    assert ">Accept all" not in operator_client.get("/pending/?status=Rejected").content.decode()


def test_accept_selected_accepts_the_ticked_chargers_through_the_accept_service(operator_client: Client) -> None:
    for cid in ("CP-A", "CP-B", "CP-C"):
        f.charger(cid, registration=RegistrationStatus.PENDING)
    f.charger("CP-R", registration=RegistrationStatus.REJECTED)

    response = operator_client.post(
        "/pending/accept/",
        {"scope": "selected", "status": "Pending", "charge_point_id": ["CP-A", "CP-C", "CP-R"]},
        follow=True,
    )

    assert response.redirect_chain == [("/pending/?status=Pending", 302)]
    assert registrations() == {"CP-A": "Accepted", "CP-B": "Pending", "CP-C": "Accepted", "CP-R": "Accepted"}
    # The single-charger service did it: an online Pending charger is told at once (not a Rejected one).
    assert boot_triggers() == ["CP-A", "CP-C"]
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["Accepted 3 chargers: CP-A, CP-C, CP-R"]


def test_accept_all_accepts_every_pending_charger_and_no_rejected_one(operator_client: Client) -> None:
    for i in range(60):  # more than a page: "all" is not "this page"
        f.charger(f"CP-P{i:02d}", registration=RegistrationStatus.PENDING)
    f.charger("CP-R", registration=RegistrationStatus.REJECTED)
    f.charger("CP-OK")

    response = operator_client.post("/pending/accept/", {"scope": "all", "status": "Pending"})

    assert response.status_code == 302 and response["Location"] == "/pending/?status=Pending"
    statuses = registrations()
    assert [cid for cid, status in statuses.items() if status != "Accepted"] == ["CP-R"]
    assert len(boot_triggers()) == 60


def test_accept_selected_skips_chargers_decided_meanwhile_and_needs_a_choice(operator_client: Client) -> None:
    f.charger("CP-GONE")  # accepted by someone else since the page was loaded
    response = operator_client.post(
        "/pending/accept/", {"scope": "selected", "charge_point_id": ["CP-GONE", "CP-NONE"]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["2 of the ticked chargers were not waiting any more"]
    assert boot_triggers() == []
    nothing = operator_client.post("/pending/accept/", {"scope": "selected", "status": "Pending"}, follow=True)
    assert [str(m) for m in nothing.context["messages"]] == ["Tick the chargers to accept first."]


# --- Id tags -----------------------------------------------------------------------------------------------


def tag_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-id-tag="([^"]+)">.*?data-status>(\w+)<', html, re.S))


def test_id_tag_page_lists_tags_with_what_authorize_answers(operator_client: Client) -> None:
    now = timezone.now()
    fleet = IdTag.objects.create(id_tag="FLEET")
    IdTag.objects.create(id_tag="CARD-OK", parent=fleet, note="Driver 7")
    IdTag.objects.create(id_tag="CARD-OLD", expiry_date=now - timedelta(days=1))
    IdTag.objects.create(id_tag="CARD-BAD", status="Blocked")
    IdTag.objects.create(id_tag="DEMO-1", demo=True)

    html = operator_client.get("/id-tags/").content.decode()

    assert tag_rows(html) == {
        "CARD-BAD": "Blocked",
        "CARD-OK": "Accepted",
        "CARD-OLD": "Expired",
        "DEMO-1": "Accepted",
        "FLEET": "Accepted",
    }
    assert "Driver 7" in html and re.search(r'data-id-tag="DEMO-1">.*?>demo<', html, re.S)
    assert 'aria-current="page">Id tags<' in html
    assert set(tag_rows(operator_client.get("/id-tags/?search=card").content.decode())) == {
        "CARD-BAD",
        "CARD-OK",
        "CARD-OLD",
    }
    assert set(tag_rows(operator_client.get("/id-tags/?expired=true").content.decode())) == {"CARD-OLD"}
    assert set(tag_rows(operator_client.get("/id-tags/?status=Blocked").content.decode())) == {"CARD-BAD"}
    assert len(tag_rows(operator_client.get("/id-tags/?status=Nonsense").content.decode())) == 5


def test_add_an_id_tag_from_the_page(operator_client: Client) -> None:
    IdTag.objects.create(id_tag="FLEET")
    response = operator_client.post(
        "/id-tags/",
        {"id_tag": "04AA11BB", "expiry_date": "2031-06-30T18:00", "parent": "FLEET", "note": "van 3"},
        follow=True,
    )
    assert response.redirect_chain == [("/id-tags/?search=04AA11BB", 302)]
    tag = IdTag.objects.get(id_tag="04AA11BB")
    assert tag.parent is not None and tag.expiry_date is not None
    assert (tag.status, tag.parent.id_tag, tag.note) == ("Accepted", "FLEET", "van 3")
    assert tag.expiry_date.isoformat() == "2031-06-30T18:00:00+00:00"  # the page's time zone
    assert tag_rows(response.content.decode()) == {"04AA11BB": "Accepted"}
    assert id_tag_authorize(id_tag="04AA11BB", now=timezone.now()).status == "Accepted"


def test_an_id_token_is_added_with_its_2_0_1_type(operator_client: Client) -> None:
    response = operator_client.post("/id-tags/", {"id_tag": "NL-TNM-C00122045-K", "type": "eMAID"})
    assert response.status_code == 302
    assert IdTag.objects.get(id_tag="NL-TNM-C00122045-K").type == "eMAID"
    assert operator_client.post("/id-tags/", {"id_tag": "COIN", "type": "Cash"}).status_code == 400
    assert operator_client.post("/id-tags/", {"id_tag": "PLAIN"}).status_code == 302
    assert IdTag.objects.get(id_tag="PLAIN").type == "ISO14443"  # the default: an RFID card


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"id_tag": "FLEET"}, "exists already"),
        ({"id_tag": " padded"}, "spaces"),
        ({"id_tag": "a/b"}, "/"),
        ({"id_tag": "X" * 256}, "at most 255"),
        ({"id_tag": "NEW-1", "parent": "NOPE"}, "No such id tag"),
        ({"id_tag": "NEW-1", "expiry_date": "someday"}, "valid date"),
    ],
)
def test_adding_a_bad_id_tag_shows_why_and_adds_nothing(operator_client: Client, data: dict, error: str) -> None:
    IdTag.objects.create(id_tag="FLEET")
    response = operator_client.post("/id-tags/", data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert list(IdTag.objects.values_list("id_tag", flat=True)) == ["FLEET"]


def test_block_unblock_and_expire_an_id_tag_from_the_page(operator_client: Client) -> None:
    IdTag.objects.create(id_tag="CARD-9")

    def answer() -> str:
        return id_tag_authorize(id_tag="CARD-9", now=timezone.now()).status

    blocked = operator_client.post("/id-tags/CARD-9/", {"action": "block", "next": "/id-tags/?search=CARD"})
    assert blocked.status_code == 302 and blocked["Location"] == "/id-tags/?search=CARD"
    assert answer() == "Blocked"
    page = operator_client.get("/id-tags/").content.decode()
    assert tag_rows(page) == {"CARD-9": "Blocked"} and 'aria-label="Unblock CARD-9"' in page

    operator_client.post("/id-tags/CARD-9/", {"action": "unblock", "next": "https://evil.example/"})
    assert answer() == "Accepted"

    expired = operator_client.post("/id-tags/CARD-9/", {"action": "expire"})
    assert expired["Location"] == "/id-tags/"
    assert answer() == "Expired"
    tag = IdTag.objects.get(id_tag="CARD-9")
    assert tag.status == "Accepted" and tag.expiry_date is not None and tag.expiry_date <= timezone.now()
    assert 'aria-label="Expire CARD-9"' not in operator_client.get("/id-tags/").content.decode()

    assert operator_client.post("/id-tags/CARD-9/", {"action": "dance"}).status_code == 302
    assert operator_client.post("/id-tags/NOPE/", {"action": "block"}).status_code == 404


def test_id_tag_page_query_count_does_not_grow(operator_client: Client) -> None:
    parent = IdTag.objects.create(id_tag="PARENT")
    IdTag.objects.create(id_tag="T-0", parent=parent)
    small = queries(operator_client, "/id-tags/")
    IdTag.objects.bulk_create(IdTag(id_tag=f"T-{i}", parent=parent) for i in range(1, 80))
    assert queries(operator_client, "/id-tags/") == small
