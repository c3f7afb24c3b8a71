"""One read side: the dashboard, the sessions API and the CSV export show the same figures for a session.

Each case uses values the three used to round differently (a kWh register with four decimals, a
start and stop with fractions of a second, per-phase kW), so a second computation would show.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from chargers import ports
from chargers.models import Command
from dashboard import selectors as dashboard
from dashboard.tests import factories as f
from fleet import selectors
from fleet.selectors import State
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def _open_session_with_kwh_register() -> Transaction:
    cp = f.charger("CP-RND", statuses=("Charging",))
    tx = f.session(cp, meter_start=10_000, minutes=20)
    # 12.3456 kWh = 12 345.6 Wh: the API rounded it (2346 Wh so far), the dashboard did not (2345.6).
    f.sample(tx, at=tx.started_at + timedelta(minutes=5), measurand=selectors.ENERGY, value=12.3456, unit="kWh")
    return tx


def _stopped_session_with_fractional_seconds() -> Transaction:
    cp = f.charger("CP-SEC")
    start = timezone.now().replace(microsecond=700_000) - timedelta(hours=1)
    tx = f.session(cp, started_at=start, meter_start=0, meter_stop=5000, minutes=30)
    # 1799.5 s: the API truncated it to 1799, the dashboard kept the half second.
    Transaction.objects.filter(pk=tx.pk).update(stopped_at=start + timedelta(seconds=1799.5))
    tx.refresh_from_db()
    return tx


def _api(viewer_api: APIClient, tx: Transaction) -> dict[str, Any]:
    return viewer_api.get(f"/api/v1/transactions/{tx.pk}/").json()


def _streamed(response: object) -> bytes:
    """The body of a streamed response. ``object``: APIClient is typed as answering a DRF Response, which mypy
    knows cannot also be a StreamingHttpResponse, and would skip the rest of the function as unreachable."""
    assert isinstance(response, StreamingHttpResponse), type(response)
    return response.getvalue()


def _csv(viewer_api: APIClient, tx: Transaction) -> dict[str, str]:
    body = _streamed(viewer_api.get("/api/v1/transactions/export/")).decode()
    return next(row for row in csv.DictReader(io.StringIO(body)) if row["id"] == str(tx.pk))


def _detail(tx: Transaction) -> dashboard.SessionDetail:
    detail = dashboard.session_detail(tx.pk)
    assert detail is not None
    return detail


def _charger(charge_point_id: str) -> dashboard.ChargerDetail:
    detail = dashboard.charger_detail(charge_point_id)
    assert detail is not None
    return detail


def _summary(tx: Transaction) -> dashboard.SessionSummary:
    return next(row for row in dashboard.session_page({}).rows if row.transaction.pk == tx.pk)


def test_energy_so_far_is_the_same_whole_wh_on_the_dashboard_the_api_and_the_csv(viewer_api: APIClient) -> None:
    tx = _open_session_with_kwh_register()

    api = _api(viewer_api, tx)["energy_wh"]
    assert api == 2346
    assert _summary(tx).energy_wh == api
    assert _detail(tx).summary.energy_wh == api
    assert _charger("CP-RND").sessions[0].energy_wh == api
    assert int(_csv(viewer_api, tx)["energy_wh"]) == api
    assert selectors.session_energy_wh(tx, latest_register_wh=12_345.6) == api


def test_duration_is_the_same_whole_seconds_on_the_dashboard_the_api_and_the_csv(viewer_api: APIClient) -> None:
    tx = _stopped_session_with_fractional_seconds()

    api = _api(viewer_api, tx)["duration_seconds"]
    assert api == 1799
    assert _summary(tx).duration == timedelta(seconds=api)
    assert _detail(tx).summary.duration == timedelta(seconds=api)
    assert int(_csv(viewer_api, tx)["duration_seconds"]) == api


def test_power_is_the_same_whole_watts_on_every_dashboard_page() -> None:
    cp = f.charger("CP-PWR", statuses=("Charging",))
    tx = f.session(cp, minutes=5)
    for phase in ("L1", "L2", "L3"):
        f.sample(
            tx,
            at=tx.started_at + timedelta(minutes=1),
            measurand=selectors.POWER,
            value=1.23456,
            unit="kW",
            phase=phase,
        )
    # 3 x 1234.56 W = 3703.68 W: one figure, 3704 W, wherever it is shown.
    assert selectors.session_power_w(tx) == 3704
    assert selectors.sessions_power_w([tx.pk]) == {tx.pk: 3704}
    assert selectors.chargers_power_w([cp.pk]) == {cp.pk: 3704}
    assert next(row.power_w for row in dashboard.fleet_page({}).rows if row.charge_point.pk == cp.pk) == 3704
    assert _summary(tx).power_w == 3704
    assert _charger("CP-PWR").sessions[0].power_w == 3704
    assert _detail(tx).series.power_kw == [3.704]


def test_power_of_a_stopped_session_is_none() -> None:
    tx = f.session(f.charger(), meter_start=0, meter_stop=10)
    f.sample(tx, at=tx.started_at, measurand=selectors.POWER, value=500, unit="W")
    assert selectors.session_power_w(tx) is None


def test_the_models_final_energy_follows_the_same_rule() -> None:
    tx = _stopped_session_with_fractional_seconds()
    assert tx.energy_wh == selectors.session_energy_wh(tx) == 5000
    assert _open_session_with_kwh_register().energy_wh is None


def test_charger_state_is_one_figure_annotated_or_not() -> None:
    faulted = f.charger("CP-F", statuses=("Charging", "Faulted"))
    charging = f.charger("CP-C", statuses=("Charging",))
    offline = f.charger("CP-O", online=False, statuses=("Available",))
    assert [selectors.charger_state(cp) for cp in (faulted, charging, offline)] == [
        State.FAULTED,
        State.CHARGING,
        State.UNAVAILABLE,
    ]
    annotated = {
        cp.charge_point_id: selectors.charger_state(cp)
        for cp in selectors.with_charger_state(type(faulted).objects.all())
    }
    assert annotated == {"CP-F": State.FAULTED, "CP-C": State.CHARGING, "CP-O": State.UNAVAILABLE}


# --- One FilterSet per model -------------------------------------------------------------------


def _dashboard_ids(client: Client, url: str, attribute: str) -> set[str]:
    return set(re.findall(rf'<tr {attribute}="([^"]+)"', client.get(url).content.decode()))


def test_dashboard_and_api_list_the_same_sessions_for_the_same_query(
    viewer_api: APIClient, operator_client: Client
) -> None:
    a, b = f.charger("CP-Q1"), f.charger("CP-Q2")
    done = f.session(a, id_tag="TAG-A", meter_start=0, meter_stop=100)
    f.session(b, id_tag="TAG-A")
    f.session(b, id_tag="TAG-B", meter_start=0, meter_stop=100)

    for query in ("?id_tag=tag-a", "?status=completed", "?id_tag=TAG-A&status=completed", "?charger=q2", ""):
        api = {str(row["id"]) for row in viewer_api.get("/api/v1/transactions/" + query).json()["results"]}
        assert _dashboard_ids(operator_client, "/sessions/" + query, "data-transaction") == api, query
    assert {
        row["id"] for row in viewer_api.get("/api/v1/transactions/?id_tag=tag-a&status=completed").json()["results"]
    } == {done.pk}


def test_dashboard_and_api_list_the_same_chargers_for_the_same_query(
    viewer_api: APIClient, operator_client: Client
) -> None:
    f.charger("ALPHA-1", vendor="Zeta")
    f.charger("BETA-2", statuses=("Faulted",))
    f.charger("GAMMA-3", online=False)

    def api(query: str) -> set[str]:
        return {row["charge_point_id"] for row in viewer_api.get("/api/v1/chargers/" + query).json()["results"]}

    def page(query: str) -> set[str]:
        rows = dashboard.fleet_page(dict(item.split("=") for item in query[1:].split("&")) if query else {}).rows
        return {row.charge_point.charge_point_id for row in rows}

    for query in ("?q=zeta", "?state=faulted", "?online=no", "?online=false", "?registration=Accepted", ""):
        assert page(query) == api(query), query
    assert api("?state=faulted") == {"BETA-2"}
    assert viewer_api.get("/api/v1/chargers/?state=sleeping").status_code == 400


class _Port:
    """A version that knows only Reset, registered as a protocol package registers itself."""

    version = "9.9-test"
    commands = frozenset({"Reset"})


def test_command_action_filter_takes_the_registered_versions_actions(
    viewer_api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cp = f.charger("CP-CMD")
    Command.objects.create(charge_point=cp, action="Reset", message_id="m-reset", request={"type": "Soft"})
    monkeypatch.setattr(ports, "_PORTS", {})
    ports.register(_Port())  # type: ignore[arg-type]

    assert viewer_api.get("/api/v1/commands/?action=Reset").json()["count"] == 1
    # Read at request time: an action no registered version has is refused.
    assert viewer_api.get("/api/v1/commands/?action=UpdateFirmware").status_code == 400
