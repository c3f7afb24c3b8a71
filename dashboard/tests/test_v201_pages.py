"""A 2.0.1 station on the dashboard: its EVSEs and connectors, its device model where a 1.6 page has
configuration keys, its sessions with their charts and events, and the same buttons as 1.6, which post
the shortcut's name (the page names no OCPP action of either version)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from backoffice.asgi import application
from backoffice.events import fleet_event
from chargers import ports
from chargers.api.tests.v201 import CID, v201_station
from chargers.models import Command, DeviceVariable, Evse
from dashboard.forms import BUTTONS
from transactions.models import TransactionEvent

from . import factories as f
from .test_consumers import ORIGIN, session_cookie
from .test_views import found, queries

# Every CSMS-initiated action name either version spells for a button: none may be written on a page.
OCPP_BUTTON_ACTIONS = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "RequestStartTransaction",
    "RequestStopTransaction",
    "UnlockConnector",
    "ChangeAvailability",
    "TriggerMessage",
    "GetConfiguration",
    "GetBaseReport",
)


def series_of(html: str) -> dict:
    return json.loads(found(r'data-series="([^"]+)"', html, group=1).replace("&quot;", '"'))


@pytest.mark.django_db
def test_a_2_0_1_charger_page_shows_evses_device_model_session_chart_and_buttons(
    operator_client: Client, v201: SimpleNamespace
) -> None:
    html = operator_client.get(f"/chargers/{CID}/").content.decode()

    evses = found(r'id="charger-connectors".*?</section>', html)
    assert "EVSEs and connectors" in evses
    assert re.search(r'<tbody data-evse="1">.*?data-availability>Operative<.*?data-status>Occupied<', evses, re.S)
    assert re.search(r'<tbody data-evse="2">.*?data-availability>Inoperative<.*?data-status>Available<', evses, re.S)

    model = found(r'id="charger-configuration".*?</section>', html)
    assert "Device model" in model and "Configuration" not in model
    assert re.search(r'<tbody data-component="OCPPCommCtrlr">.*?HeartbeatInterval.*?<code>300</code> s', model, re.S)
    assert re.search(r'data-variable="HeartbeatInterval">.*?data-mutability>ReadWrite<', model, re.S)
    # One group per component instance: EVSE 1's two attributes of Power, EVSE 2's availability, a connector.
    assert re.search(
        r'colspan="3">EVSE · EVSE 1</th>.*?>Power</th>.*?Power <span class="muted">MaxSet</span>', model, re.S
    )
    assert re.search(r'colspan="3">EVSE · EVSE 2</th>.*?AvailabilityState', model, re.S)
    assert 'colspan="3">Connector · EVSE 1 · connector 1</th>' in model
    assert "7 attributes" in model

    session = found(r'id="charger-sessions".*?</section>', html)
    assert "<code data-transaction-id>abc-123</code> on EVSE 1, connector 1" in session
    assert "EMA-DE-8AA-1A2B3C4D5-X (eMAID)" in session and "<dd data-charging-state>Charging</dd>" in session
    # Energy from the register values: 20 000 Wh read, 10 000 Wh at the start.
    assert "<dd data-energy>10.00 kWh</dd>" in session and "<dd data-power>53.0 kW</dd>" in session
    series = series_of(session)
    assert series["energy"] == [2.5, 5.0, 7.5, 10.0] and series["power"] == [50.0, 51.0, 52.0, 53.0]
    assert f"Stop session #{v201.active.pk}" in session

    controls = found(r'id="charger-controls".*?</section>', html)
    assert '<label for="ul-conn">EVSE</label>' in controls and '<label for="av-conn">EVSE (0 = all)</label>' in controls
    assert "Read device model" in controls and 'maxlength="36"' in controls
    for label in ("Start charging", "Soft reset", "Hard reset", "Unlock", "Make operative", "Trigger"):
        assert label in controls
    options = re.findall(r'<option value="([^"]+)"', found(r'<select id="tm-msg".*?</select>', controls))
    assert options == list(ports.port_of(v201.cp).trigger_messages)


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_buttons_post_shortcut_names_never_an_ocpp_action(
    operator_client: Client, v201: SimpleNamespace, version: str
) -> None:
    if version == "1.6":
        cp = f.charger("CP-16-BUTTONS", statuses=("Charging",))
        f.charging_session(cp, watts=1000, energy_wh=100)
        cid = cp.charge_point_id
    else:
        cid = CID
    html = operator_client.get(f"/chargers/{cid}/").content.decode()
    posted = set(re.findall(r'name="action" value="([^"]+)"', html))
    assert posted == set(BUTTONS)
    page_controls = found(r'id="charger-controls".*?</section>', html) + found(
        r'id="charger-sessions".*?</section>', html
    )
    for action in OCPP_BUTTON_ACTIONS:
        assert action not in page_controls, action


@pytest.mark.django_db
def test_each_button_of_the_2_0_1_page_queues_the_ports_command(operator_client: Client, v201: SimpleNamespace) -> None:
    shortcuts = ports.port_of(v201.cp).shortcuts
    posts = [
        (
            {"action": "remote_start", "id_tag": "EMA-DE-8AA-1A2B3C4D5-X", "connector_id": "1"},
            "RequestStartTransaction",
        ),
        ({"action": "remote_stop", "transaction_id": str(v201.active.pk)}, "RequestStopTransaction"),
        ({"action": "unlock", "connector_id": "2"}, "UnlockConnector"),
        ({"action": "availability", "connector_id": "2", "availability": "Operative"}, "ChangeAvailability"),
        ({"action": "trigger", "requested_message": "StatusNotification", "connector_id": "1"}, "TriggerMessage"),
        ({"action": "configuration_read"}, "GetBaseReport"),
        ({"action": "reset", "reset_type": "Hard"}, "Reset"),
    ]
    for data, action in posts:
        response = operator_client.post(f"/chargers/{CID}/commands/", data, headers={"X-Requested-With": "fetch"})
        assert response.status_code == 201, (data, response.content)
        assert response.json()["action"] == action
    sent = list(Command.objects.order_by("id").values_list("action", "request"))
    assert sent[1] == ("RequestStopTransaction", {"transactionId": "abc-123"})
    assert sent[2] == tuple(vars(shortcuts.unlock(connector_id=2)).values())
    assert sent[3] == ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 2}})
    assert sent[6] == ("Reset", {"type": "Immediate"})
    assert sent[0][1]["idToken"] == {"idToken": "EMA-DE-8AA-1A2B3C4D5-X", "type": "eMAID"}


@pytest.mark.django_db
def test_the_device_model_card_filters_by_component_and_name(operator_client: Client, v201: SimpleNamespace) -> None:
    evse = found(
        r'id="charger-configuration".*?</section>',
        operator_client.get(f"/chargers/{CID}/?component=evse").content.decode(),
    )
    assert set(re.findall(r'<tbody data-component="([^"]+)"', evse)) == {"EVSE"}
    assert "3 of 7 attributes" in evse and '<option value="EVSE" selected>' in evse
    name = found(
        r'id="charger-configuration".*?</section>',
        operator_client.get(f"/chargers/{CID}/?search=interval").content.decode(),
    )
    assert re.findall(r'data-variable="([^"]+)"', name) == ["HeartbeatInterval"]
    none = operator_client.get(f"/chargers/{CID}/?component=Nope").content.decode()
    assert "No variable matches." in none
    # A value the FilterSet refuses is dropped, not an error page; the live socket keeps the page's filters.
    page = operator_client.get(f"/chargers/{CID}/?component=" + "x" * 60 + "&search=heart")
    assert page.status_code == 200
    assert f'data-live="/ws/chargers/{CID}/?component=' in page.content.decode()


@pytest.mark.django_db
def test_a_2_0_1_charger_without_a_device_model_says_how_to_read_it(operator_client: Client) -> None:
    cp = f.charger("CS-FRESH")
    cp.ocpp_version = "2.0.1"
    cp.save()
    section = found(
        r'id="charger-configuration".*?</section>', operator_client.get("/chargers/CS-FRESH/").content.decode()
    )
    assert "Not reported yet" in section and "Read device model" in section


@pytest.mark.django_db
def test_a_1_6_charger_page_keeps_its_connectors_and_configuration(operator_client: Client) -> None:
    cp = f.charger("CP-16-SAME", statuses=("Charging",))
    f.answered_command(cp, "GetConfiguration", {}, {"configurationKey": [{"key": "HeartbeatInterval", "value": "60"}]})
    html = operator_client.get("/chargers/CP-16-SAME/").content.decode()
    connectors = found(r'id="charger-connectors".*?</section>', html)
    assert ">Connectors</h2>" in connectors and "EVSE" not in connectors and "0 (charger)" in connectors
    config = found(r'id="charger-configuration".*?</section>', html)
    assert ">Configuration</h2>" in config and "HeartbeatInterval" in config and "Device model" not in config
    controls = found(r'id="charger-controls".*?</section>', html)
    assert '<label for="ul-conn">Connector</label>' in controls and "Read configuration" in controls


@pytest.mark.django_db
def test_the_2_0_1_page_query_count_does_not_grow_with_its_device_model(
    operator_client: Client, v201: SimpleNamespace
) -> None:
    small = queries(operator_client, f"/chargers/{CID}/")
    for number in range(3, 13):
        Evse.objects.create(charge_point=v201.cp, evse_id=number)
        for variable in ("Power", "AvailabilityState", "SupplyPhases"):
            DeviceVariable.objects.create(
                charge_point=v201.cp, component="EVSE", evse_id=number, variable=variable, updated_at=v201.now
            )
    assert queries(operator_client, f"/chargers/{CID}/") == small
    assert queries(operator_client, f"/chargers/{CID}/?component=EVSE") <= small + 1


@pytest.mark.django_db
def test_a_2_0_1_session_page_shows_its_ids_chart_and_events(operator_client: Client, v201: SimpleNamespace) -> None:
    html = operator_client.get(f"/sessions/{v201.active.pk}/").content.decode()
    summary = found(r'id="session-summary".*?</section>', html)
    assert "<code data-transaction-id>abc-123</code>" in summary
    assert f">{CID}</a>, EVSE 1, connector 1" in summary and "eMAID" in summary
    assert "<dd data-time-spent-charging>3000 s</dd>" in summary and "id 4242" in summary
    assert "<dd data-energy>10.00 kWh</dd>" in summary and "10000 Wh → …" in summary
    assert series_of(summary)["energy"][-1] == 10.0
    events = found(r'id="session-events".*?</section>', html)
    assert re.findall(r'data-seq-no="(\d+)"', events) == ["0", "1", "2", "3", "4"]
    assert "ChargingStateChanged" in events and "MeterValuePeriodic" in events

    ended = operator_client.get(f"/sessions/{v201.ended.pk}/").content.decode()
    summary = found(r'id="session-summary".*?</section>', ended)
    assert "<dd data-energy>—</dd>" in summary and "<dt>Meter</dt><dd>— → …</dd>" in summary
    assert "EVSE 2, connector 1" in summary and "None" not in summary
    assert re.findall(r'data-seq-no="(\d+)"', found(r'id="session-events".*?</section>', ended)) == ["0"]


@pytest.mark.django_db
def test_a_session_page_lists_only_the_newest_events_of_a_long_session(
    operator_client: Client, v201: SimpleNamespace
) -> None:
    TransactionEvent.objects.bulk_create(
        TransactionEvent(
            transaction=v201.active,
            seq_no=seq_no,
            event_type="Updated",
            trigger_reason="MeterValuePeriodic",
            timestamp=v201.now,
            payload={},
            received_at=v201.now,
        )
        for seq_no in range(5, 150)
    )
    events = found(
        r'id="session-events".*?</section>', operator_client.get(f"/sessions/{v201.active.pk}/").content.decode()
    )
    seq = [int(n) for n in re.findall(r'data-seq-no="(\d+)"', events)]
    assert seq == list(range(50, 150)) and "The newest 100 of 150." in events


@pytest.mark.django_db
def test_a_1_6_session_page_has_no_events_card(operator_client: Client) -> None:
    tx = f.session(f.charger("CP-16-SESSION"), meter_stop=2000)
    html = operator_client.get(f"/sessions/{tx.pk}/").content.decode()
    assert 'id="session-events"' not in html and "data-transaction-id" not in html


@pytest.mark.django_db
def test_the_sessions_list_shows_2_0_1_sessions_by_their_id_and_evse(
    operator_client: Client, v201: SimpleNamespace
) -> None:
    f.session(f.charger("CP-16-LIST"), connector_id=1)
    table = found(r'id="sessions-table".*?</section>', operator_client.get("/sessions/").content.decode())
    row = found(rf'<tr data-transaction="{v201.active.pk}">.*?</tr>', table)
    assert '<code class="muted" data-transaction-id>abc-123</code>' in row and "EVSE 1 / 1" in row
    assert "10.00 kWh" in row
    only = found(
        r'id="sessions-table".*?</section>', operator_client.get("/sessions/?transaction_id=xyz-9").content.decode()
    )
    assert re.findall(r'<tr data-transaction="(\d+)"', only) == [str(v201.ended.pk)]


@pytest.mark.django_db
def test_the_fleet_page_shows_a_2_0_1_station_charging_with_its_connectors_by_evse(
    operator_client: Client, v201: SimpleNamespace
) -> None:
    f.charger("CP-16-FLEET", statuses=("Available",))
    html = operator_client.get("/").content.decode()
    row = found(rf'data-charge-point="{CID}">.*?</tr>', html)
    assert "data-state>Charging<" in row and "53.0 kW" in row
    assert re.findall(r">([\d.]+: \w+)</span>", row) == ["1: Occupied", "2.1: Available"]
    assert 'title="Connector 1: Occupied">' in row
    assert ">1: Available</span>" in found(r'data-charge-point="CP-16-FLEET">.*?</tr>', html)


@pytest.mark.django_db
def test_id_tags_page_shows_and_filters_the_token_type(operator_client: Client, v201: SimpleNamespace) -> None:
    from chargers.models import IdTag

    IdTag.objects.create(id_tag="04A2B3C4")
    html = operator_client.get("/id-tags/?type=eMAID").content.decode()
    assert 'data-id-tag="EMA-DE-8AA-1A2B3C4D5-X"' in html and 'data-id-tag="04A2B3C4"' not in html
    assert '<td class="opt" data-type>eMAID</td>' in html and '<option value="eMAID" selected>' in html


@pytest.mark.django_db(transaction=True)
def test_the_live_pages_of_a_2_0_1_station_push_its_device_model_and_events(operator: User) -> None:
    station = v201_station("CS-LIVE")
    cookie = session_cookie(operator)

    async def scenario() -> None:
        charger = WebsocketCommunicator(application, "/ws/chargers/CS-LIVE/?component=OCPPCommCtrlr", [ORIGIN, cookie])
        assert (await charger.connect())[0]
        first = await charger.receive_json_from(timeout=5)
        model = first["fragments"]["charger-configuration"]
        assert set(re.findall(r'<tbody data-component="([^"]+)"', model)) == {"OCPPCommCtrlr"}

        session = WebsocketCommunicator(application, f"/ws/sessions/{station.active.pk}/", [ORIGIN, cookie])
        assert (await session.connect())[0]
        pushed = await session.receive_json_from(timeout=5)
        assert re.findall(r'data-seq-no="(\d+)"', pushed["fragments"]["session-events"]) == ["0", "1", "2", "3", "4"]

        def one_more_event() -> None:
            TransactionEvent.objects.create(
                transaction=station.active,
                seq_no=5,
                event_type="Updated",
                trigger_reason="ChargingStateChanged",
                timestamp=station.now,
                charging_state="SuspendedEV",
                payload={},
                received_at=station.now,
            )
            fleet_event("ocpp", "CS-LIVE", action="TransactionEvent", outcome="ok")

        await sync_to_async(one_more_event)()
        push = await session.receive_json_from(timeout=2)
        assert re.findall(r'data-seq-no="(\d+)"', push["fragments"]["session-events"])[-1] == "5"
        await session.disconnect()
        await charger.disconnect()

    async_to_sync(scenario)()
